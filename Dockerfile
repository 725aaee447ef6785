# syntax=docker/dockerfile:1
# Build stage: compile the release binary (SQLite is bundled; PostgreSQL needs libpq).
FROM rust:1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libpq-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs diesel.toml ./
COPY .cargo .cargo
COPY src src
COPY benches benches
COPY migrations migrations
COPY schemas schemas
RUN cargo build --release --locked --bin roster

# Runtime stage: the binary, libpq and CA certificates, run as an unprivileged user.
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /data roster \
    && mkdir -p /data && chown roster /data
COPY --from=build /src/target/release/roster /usr/local/bin/roster
USER roster
WORKDIR /data
ENV ROSTER_LISTEN=0.0.0.0:8080 \
    ROSTER_DATABASE_URL=sqlite:///data/roster.db
EXPOSE 8080
VOLUME ["/data"]
HEALTHCHECK --interval=30s --timeout=3s CMD ["/bin/sh", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080"]
ENTRYPOINT ["roster"]
CMD ["serve"]
