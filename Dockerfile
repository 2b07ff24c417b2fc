# Builds the `hotline` binary and runs it on a slim Debian. Used by docker-compose.yml; the flags are the
# ones README.md and docs/operations.md document.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p hotline-server

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --create-home --home-dir /var/lib/hotline hotline
COPY --from=build /src/target/release/hotline /usr/local/bin/hotline
COPY ivr-flows /etc/hotline/flows
USER hotline
WORKDIR /var/lib/hotline
# SIP (UDP and TCP), HTTP (API, metrics), RTP (one even/odd pair per call leg).
EXPOSE 5060/udp 5060/tcp 8080/tcp 20000-20199/udp
ENTRYPOINT ["hotline", "serve"]
CMD ["--data-dir", "/var/lib/hotline", "--flows", "/etc/hotline/flows", "--rtp-ports", "20000-20199"]
