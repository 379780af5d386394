# custos's container image: the static binary and the llama.cpp libraries
# its embedded engine (`custos runner`) loads, on a small glibc base, run
# as a non-root user. One image serves both tiers of deploy/kubernetes/.
# Unbuilt on the machines custos is developed on (they have no container
# engine); deploy/kubernetes/manifests_test.go checks what it says.
#
#   docker build -t custos:latest .

# The binary: pure Go, no cgo, so it runs on any base.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o /out/custos ./cmd/custos

# The libraries: the npm tarball pinned in deps/llama.lock, checked
# against its sha512 by scripts/deps.sh, as `make deps` does.
FROM node:22-bookworm-slim AS llama
WORKDIR /src
COPY deps/llama.lock deps/
COPY scripts/deps.sh scripts/
RUN scripts/deps.sh

# The libraries need glibc 2.34+, libstdc++ and libgcc_s (bookworm has
# 2.36). custos finds them in lib/llama next to its binary's folder.
FROM debian:bookworm-slim
RUN apt-get update \
	&& apt-get install -y --no-install-recommends libstdc++6 libgcc-s1 ca-certificates \
	&& rm -rf /var/lib/apt/lists/*
COPY --from=build /out/custos /opt/custos/bin/custos
COPY --from=llama /src/lib/llama /opt/custos/lib/llama
LABEL org.opencontainers.image.title="custos"
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/opt/custos/bin/custos"]
CMD ["serve", "--config", "/etc/custos/custos.yaml"]
