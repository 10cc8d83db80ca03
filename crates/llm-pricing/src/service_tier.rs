//! [`ServiceTier`]: the processing tier a call is billed at, and which tiers a request can be
//! billed at.

/// The processing tier of a call, which some providers price differently (OpenAI's
/// `service_tier`: `"priority"` costs more, `"flex"` less).
///
/// The tier that counts for the exact cost is the one the provider **reports** in its response
/// (`"service_tier": "priority"`), not the one requested: read it with
/// [`ServiceTier::from_reported`] and pass it to
/// [`PriceTable::cost_at_tier`](crate::PriceTable::cost_at_tier). A worst-case
/// [`estimate`](crate::PriceTable::estimate) reads the request's `service_tier` itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ServiceTier {
    /// The standard prices (OpenAI's `"default"`, Anthropic's `"standard"`).
    #[default]
    Standard,
    /// Priority processing (`"priority"`), dearer than standard.
    Priority,
    /// Flex processing (`"flex"`): slower, cheaper than standard.
    Flex,
}

impl ServiceTier {
    /// The tier a response reports (its `service_tier` field; `None` when it has none).
    ///
    /// `"priority"` and `"flex"` are those tiers; everything else — `"default"`, `"standard"`,
    /// `"auto"`, `"scale"`, a missing field or a tier this crate does not know — is
    /// [`ServiceTier::Standard`].
    pub fn from_reported(reported: Option<&str>) -> ServiceTier {
        match reported {
            Some("priority") => ServiceTier::Priority,
            Some("flex") => ServiceTier::Flex,
            _ => ServiceTier::Standard,
        }
    }

    /// The tier's name as the API spells it: `"standard"`, `"priority"` or `"flex"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ServiceTier::Standard => "standard",
            ServiceTier::Priority => "priority",
            ServiceTier::Flex => "flex",
        }
    }

    /// The tier a generated table or a LiteLLM file names (`priority`, `flex`).
    pub(crate) fn from_table_name(name: &str) -> Option<ServiceTier> {
        match name {
            "priority" => Some(ServiceTier::Priority),
            "flex" => Some(ServiceTier::Flex),
            _ => None,
        }
    }

    /// Every tier a request asking for `requested` (its `service_tier`, `None` when unset) can
    /// be billed at:
    ///
    /// - unset or `"default"`: standard;
    /// - `"priority"`: priority or standard (a priority request can be served at standard);
    /// - `"flex"`: flex or standard (flex is cheaper, but a request may be served at standard);
    /// - `"auto"`, `"scale"` or anything else: any tier, since `"auto"` follows the project's
    ///   default setting, which may be priority.
    pub(crate) fn billable_for_request(requested: Option<&str>) -> &'static [ServiceTier] {
        match requested {
            None | Some("default") => &[ServiceTier::Standard],
            Some("priority") => &[ServiceTier::Standard, ServiceTier::Priority],
            Some("flex") => &[ServiceTier::Standard, ServiceTier::Flex],
            Some(_) => &[
                ServiceTier::Standard,
                ServiceTier::Priority,
                ServiceTier::Flex,
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reported_tiers() {
        assert_eq!(
            ServiceTier::from_reported(Some("priority")),
            ServiceTier::Priority
        );
        assert_eq!(ServiceTier::from_reported(Some("flex")), ServiceTier::Flex);
        for other in [
            Some("default"),
            Some("standard"),
            Some("auto"),
            Some("scale"),
            None,
        ] {
            assert_eq!(ServiceTier::from_reported(other), ServiceTier::Standard);
        }
    }

    #[test]
    fn every_request_can_be_billed_at_standard() {
        for requested in [
            None,
            Some("default"),
            Some("priority"),
            Some("flex"),
            Some("auto"),
        ] {
            assert!(ServiceTier::billable_for_request(requested).contains(&ServiceTier::Standard));
        }
        assert!(ServiceTier::billable_for_request(Some("auto")).contains(&ServiceTier::Priority));
        assert!(ServiceTier::billable_for_request(Some("scale")).contains(&ServiceTier::Priority));
        assert!(!ServiceTier::billable_for_request(None).contains(&ServiceTier::Priority));
    }
}
