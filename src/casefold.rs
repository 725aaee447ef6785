//! The one definition of "case-insensitive" used everywhere: in stored look-up columns,
//! in SQL parameters and in the in-memory matcher, so all three always agree.
//!
//! It is the mapping of the PRECIS UsernameCaseMapped profile (RFC 8265 §3.3.2): width
//! mapping (fullwidth and halfwidth forms to their ordinary characters), lower case, then
//! Unicode Normalization Form C. So "ａdmin" and "ADMIN", or "josé" typed composed and
//! decomposed, are one name. The profile's other rules (which characters a name may hold)
//! are not applied here: see `text_rules` for what a userName may contain.

use precis_core::profile::Rules;
use precis_profiles::UsernameCaseMapped;

/// Which fold wrote the stored look-up columns; the store re-folds rows written by an
/// earlier one (see `store::refold`).
pub const FOLD_VERSION: &str = "precis-username-case-mapped-1";

/// Folds `text` for case-insensitive comparison.
pub fn fold(text: &str) -> String {
    // ASCII has no wide forms and is already in NFC.
    if text.is_ascii() {
        return text.to_ascii_lowercase();
    }
    let profile = UsernameCaseMapped::new();
    // The rules fail only on a broken mapping table; plain lower case is then the best
    // comparison left.
    let Ok(narrow) = profile.width_mapping_rule(text) else {
        return text.to_lowercase();
    };
    let lower = narrow.to_lowercase();
    match profile.normalization_rule(lower.as_str()) {
        Ok(normalized) => normalized.into_owned(),
        Err(_) => lower,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn look_alike_forms_fold_together() {
        assert_eq!(fold("ADMIN"), "admin");
        assert_eq!(fold("ａdmin"), "admin");
        assert_eq!(fold("ＡＤＭＩＮ"), "admin");
        assert_eq!(fold("Jose\u{301}"), fold("JOSÉ"));
        assert_eq!(fold("jose\u{301}"), "jos\u{e9}");
        assert_eq!(fold("ﾊﾟｽ"), fold("パス"));
        assert_eq!(fold("Ǆemal"), "ǆemal");
        assert_ne!(fold("alice"), fold("ali\u{200b}ce"));
    }

    proptest! {
        #[test]
        fn folding_is_idempotent(text in any::<String>()) {
            let once = fold(&text);
            prop_assert_eq!(fold(&once), once.clone());
        }

        #[test]
        fn ascii_folds_as_ascii_lower_case(text in "[ -~]{0,40}") {
            prop_assert_eq!(fold(&text), text.to_ascii_lowercase());
        }
    }
}
