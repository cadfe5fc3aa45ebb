//! lumi-bridge (work in progress)
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod config;
pub mod discovery;
mod duration;
pub mod name;
pub mod state;
mod time;
pub mod topics;

pub use config::Config;
pub use name::FriendlyName;
pub use time::iso8601;
