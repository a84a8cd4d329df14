# shardhose as a container (e.g. a sidecar; deploy/kubernetes/shardhose-sidecar.yaml).
#
#   docker build -t shardhose .
#   docker run --rm -v shardhose-state:/var/lib/shardhose \
#     -e SHARDHOSE_SOURCE_STREAM_NAME=orders-changes -e AWS_REGION=us-east-1 \
#     -e SHARDHOSE_OUTPUT_BUCKET=my-lake -e AWS_ACCESS_KEY_ID=... -e AWS_SECRET_ACCESS_KEY=... \
#     shardhose
#
# Configuration comes from the environment (SHARDHOSE_<SECTION>_<KEY>, the
# AWS_* variables); a file can be mounted and named with SHARDHOSE_CONFIG.
# Logs are JSON lines on stdout. The checkpoint is on the volume
# /var/lib/shardhose: keep it across container restarts, or the stream is
# read again from source.initial_position.
#
# tests/service/check_dockerfile.py checks that the runtime stage installs
# exactly the packages of the libraries the binary links (plus
# ca-certificates) and that the build stage only uses packages from
# scripts/install-deps.sh.

# ---- build ---------------------------------------------------------------
FROM debian:bookworm AS build
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config ca-certificates \
      libcurl4-openssl-dev libssl-dev zlib1g-dev rapidjson-dev \
      libspdlog-dev libfmt-dev libsystemd-dev libtomlplusplus-dev libcli11-dev \
      libcpp-httplib-dev libdeflate-dev libisal-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr/local \
      -DSHARDHOSE_TESTS=OFF -DSHARDHOSE_BENCH=OFF -DSHARDHOSE_WERROR=ON \
 && cmake --build /build -j"$(nproc)" --target shardhose \
 && DESTDIR=/out cmake --install /build --component Runtime --strip \
 && /out/usr/local/bin/shardhose --version

# ---- runtime -------------------------------------------------------------
FROM debian:bookworm-slim
ARG DEBIAN_FRONTEND=noninteractive
# One package per library the binary links (ldd/readelf NEEDED -> dpkg -S),
# plus ca-certificates for TLS to AWS.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates libc6 libcpp-httplib0.11 libcurl4 libdeflate0 libfmt9 libgcc-s1 libisal2 libspdlog1.10 \
      libssl3 libstdc++6 libsystemd0 libtomlplusplus3 zlib1g \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 shardhose \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/shardhose --no-create-home \
      --shell /usr/sbin/nologin shardhose \
 && install -d -o 10001 -g 10001 -m 0700 /var/lib/shardhose
COPY --from=build /out/usr/local/bin/shardhose /usr/local/bin/shardhose

ENV SHARDHOSE_LOG_FORMAT=json \
    SHARDHOSE_SERVER_LISTEN=0.0.0.0:9600 \
    SHARDHOSE_CHECKPOINT_PATH=/var/lib/shardhose/checkpoint.json \
    SHARDHOSE_SHUTDOWN_GRACE_PERIOD_S=25
VOLUME ["/var/lib/shardhose"]
EXPOSE 9600
USER 10001:10001
WORKDIR /var/lib/shardhose

# SIGTERM: flush open batches, write the checkpoint, exit 0 within
# shutdown.grace_period_s; give `docker stop -t 30` (grace + 5 s).
STOPSIGNAL SIGTERM
# /healthz answers 200 while the loops are alive. The check follows
# SHARDHOSE_SERVER_LISTEN (`docker run -e SHARDHOSE_SERVER_LISTEN=0.0.0.0:8080`
# moves it; a wildcard address is probed on 127.0.0.1; empty = the server is
# off, nothing to check). bash's /dev/tcp keeps the image free of an HTTP
# client.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["bash", "-c", "l=${SHARDHOSE_SERVER_LISTEN-0.0.0.0:9600}; [ -n \"$l\" ] || exit 0; h=${l%:*}; p=${l##*:}; h=${h#[}; h=${h%]}; case $h in 0.0.0.0|''|::) h=127.0.0.1;; esac; exec 3<>/dev/tcp/$h/$p && printf 'GET /healthz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n1 <&3 | grep -q ' 200 '"]

ENTRYPOINT ["/usr/local/bin/shardhose"]
CMD ["run"]
