# syntax=docker/dockerfile:1
# feedcrawl runtime image: the three role executables, the feedcrawl command, and the test feed
# server (used only by the demo profile of docker-compose.yml). Two stages on Debian 12: the
# builder has the -dev packages and the compiler; the runtime image only the shared libraries.

FROM debian:12 AS builder
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      libzmq3-dev cppzmq-dev libcurl4-openssl-dev libpugixml-dev libhiredis-dev \
      protobuf-compiler libprotobuf-dev libcli11-dev libspdlog-dev nlohmann-json3-dev \
      libsimdjson-dev libcpp-httplib-dev zlib1g-dev libbrotli-dev libgtest-dev libgmock-dev \
      libjemalloc-dev liblz4-dev libxxhash-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The tests are configured (the test feed server lives there) but only the shipped programs are
# built.
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DFEEDCRAWL_BUILD_TESTS=ON -DFEEDCRAWL_BUILD_BENCHMARKS=OFF \
 && cmake --build /build --target feedcrawl feedcrawl-coordinator feedcrawl-fetcher \
      feedcrawl-processor feedcrawl-testserver \
 && strip /build/bin/*

FROM debian:12-slim AS runtime
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates libzmq5 libcurl4 libpugixml1v5 libhiredis0.14 libprotobuf32 \
      libspdlog1.10 libfmt9 libcpp-httplib0.11 libsimdjson14 zlib1g libbrotli1 libjemalloc2 \
      liblz4-1 libxxhash0 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin feedcrawl
COPY --from=builder /build/bin/feedcrawl /build/bin/feedcrawl-coordinator \
     /build/bin/feedcrawl-fetcher /build/bin/feedcrawl-processor \
     /build/bin/feedcrawl-testserver /usr/local/bin/
USER feedcrawl
# Ports: 7301 control, 7302 results in, 7303 results out (coordinator); 9100 metrics (every
# role, when FEEDCRAWL_METRICS_PORT is set); 8080 the demo feed server.
EXPOSE 7301 7302 7303 9100
CMD ["feedcrawl", "--help"]
