# The synod image: one static binary in an empty image, run as a user that
# is not root. Build and try it:
#
#   docker build -t synod .
#   docker run --rm synod sweep --seeds 0:100 --out /tmp/sweep
#
# The build step below is the one cmd/synod's hostile-input test runs (it
# builds the binary the same way and feeds it the corpus), so CI checks it.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN mkdir -p /out && CGO_ENABLED=0 go build -trimpath -o /out/synod ./cmd/synod \
 && mkdir -p /out/work /out/scenarios && cp -r testdata/scenarios/. /out/scenarios/

# Empty but for the binary, the scenarios and a writable work folder owned
# by the user the image runs as (65532, "nonroot" in distroless images).
FROM scratch
COPY --from=build /out/synod /usr/local/bin/synod
COPY --from=build --chown=65532:65532 /out/scenarios /scenarios
COPY --from=build --chown=65532:65532 /out/work /work
USER 65532:65532
WORKDIR /work
ENTRYPOINT ["/usr/local/bin/synod"]
