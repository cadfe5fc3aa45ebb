//! Device catalogue (being written).
