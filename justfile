# The everyday commands. `just` is optional: each recipe is a plain command.

# Run every part in one process (embedded mode).
run:
    cargo run --release

# Install what the tests need and run them all.
test:
    scripts/test

# Formatting and lints, as CI checks them.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets --locked -- -D warnings

# Benchmarks.
bench:
    cargo bench --workspace
