//! Compiles `proto/` with protox (pure Rust, no system `protoc`) and
//! generates prost messages plus tonic clients and servers.

use std::path::PathBuf;

use prost::Message as _;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Read at run time, not baked in with `env!`: a build script compiled in
    // one checkout must still read the protos of the checkout it builds.
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let files = [
        "omni/common/v1/common.proto",
        "omni/events/v1/events.proto",
        "omni/context/v1/context.proto",
        "omni/routing/v1/routing.proto",
        "omni/adapter/v1/adapter.proto",
        "omni/bot/v1/bot.proto",
        "omni/enrich/v1/enrich.proto",
    ];
    println!("cargo:rerun-if-changed={}", root.display());
    let fds = protox::compile(files, [&root])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("omni_descriptor.bin"), fds.encode_to_vec())?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)?;
    Ok(())
}
