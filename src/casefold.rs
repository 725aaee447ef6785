//! The one definition of "case-insensitive" used everywhere: in stored look-up columns,
//! in SQL parameters and in the in-memory matcher, so all three always agree.

/// Folds `text` for case-insensitive comparison (Unicode lower case).
pub fn fold(text: &str) -> String {
    text.to_lowercase()
}
