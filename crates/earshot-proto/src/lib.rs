//! Generated Rust for Earshot's gRPC contracts.
//!
//! Modules mirror the protobuf packages under `proto/`: `earshot.sampling.v1`
//! is `earshot_proto::sampling::v1`, and so on. The `.proto` files are the API
//! reference; the generated docs repeat their comments.
//!
//! Every crate uses [`tonic`] and [`prost`] through the re-exports here, so the
//! whole workspace agrees on one version of each.

pub use prost;
pub use prost_types;
pub use tonic;

/// The encoded `FileDescriptorSet` of every Earshot contract (and the
/// well-known types they import), for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/earshot_descriptor.bin"));

#[allow(clippy::all, clippy::unwrap_used, clippy::expect_used, missing_docs)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/earshot_includes.rs"));
}

pub use generated::earshot::*;
