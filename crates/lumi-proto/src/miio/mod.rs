//! miIO protocol (being written).
