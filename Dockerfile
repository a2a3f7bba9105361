# obsportal's image: built with the project's own scripts, run as a non-root user against
# the PostgreSQL (with pg_sphere) named by DATABASE_URL. See deploy/ for Kubernetes.

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
# The same install step the README's first command runs (PostgreSQL 15 and pg_sphere, which the
# build's tests and the embedded default need), then the release binary.
RUN bash scripts/install-prerequisites \
    && cargo build --release --locked \
    && cp target/release/obsportal /usr/local/bin/obsportal

FROM debian:bookworm-slim
# ca-certificates: harvesting from ESO and uploads by URL go over https.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates=20230311* \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/obsportal --create-home obsportal
COPY --from=build /usr/local/bin/obsportal /usr/local/bin/obsportal
USER 10001
WORKDIR /var/lib/obsportal
EXPOSE 8080
# DATABASE_URL (and OBSPORTAL_READER_DATABASE_URL for a read replica) come from the
# environment; every other setting too (README, Configuration).
ENTRYPOINT ["/usr/local/bin/obsportal"]
CMD ["serve", "--listen", "0.0.0.0:8080"]
