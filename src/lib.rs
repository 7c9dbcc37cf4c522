//! End-to-end suite lives in tests/scenarios.rs.
