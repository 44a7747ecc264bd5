//! Closed sets of names at the edges (presets, solvers, method ids, formats): one parser that
//! every `FromStr` implementation of such an enum shares, so a command-line flag and a YAML field
//! refuse an unknown value with the same message listing the accepted names.

use thiserror::Error;

/// A name outside a closed set.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("'{given}': expected {}", list(expected))]
pub struct UnknownName {
    /// What was given.
    pub given: String,
    /// The accepted names, in their documented order.
    pub expected: Vec<&'static str>,
}

fn list(names: &[&'static str]) -> String {
    match names {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// The member of `all` whose `name` is `given`.
pub fn parse_name<T: Copy>(
    all: &[T],
    name: impl Fn(T) -> &'static str,
    given: &str,
) -> Result<T, UnknownName> {
    all.iter()
        .copied()
        .find(|&v| name(v) == given)
        .ok_or_else(|| UnknownName {
            given: given.to_string(),
            expected: all.iter().map(|&v| name(v)).collect(),
        })
}

/// Deserialises a `FromStr` value from a string, raising the parse error inside the
/// deserializer so that YAML errors carry the value's line and column (a `#[serde(try_from)]`
/// conversion runs after the deserializer returns and loses them).
pub fn deserialize_parsed<'de, D, T>(d: D, expecting: &'static str) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    struct Parsed<T>(std::marker::PhantomData<T>, &'static str);
    impl<T> serde::de::Visitor<'_> for Parsed<T>
    where
        T: std::str::FromStr,
        T::Err: std::fmt::Display,
    {
        type Value = T;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.1)
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<T, E> {
            v.parse().map_err(E::custom)
        }
    }
    d.deserialize_str(Parsed(std::marker::PhantomData, expecting))
}

/// Implements `FromStr` (through [`parse_name`], error [`UnknownName`]) and `Display` for a
/// closed enum with an `ALL` constant and a `fn(Self) -> &'static str` naming its members.
#[macro_export]
macro_rules! closed_names {
    ($ty:ty, $name:path) => {
        impl ::std::str::FromStr for $ty {
            type Err = $crate::UnknownName;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $crate::parse_name(&Self::ALL, $name, s)
            }
        }

        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str($name(*self))
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_members_and_lists_the_names_otherwise() {
        let all = [1u8, 2, 3];
        let name = |v: u8| ["one", "two", "three"][usize::from(v) - 1];
        assert_eq!(parse_name(&all, name, "two"), Ok(2));
        let err = parse_name(&all, name, "four").unwrap_err();
        assert_eq!(err.to_string(), "'four': expected one, two or three");
        let single = parse_name(&[1u8], name, "x").unwrap_err();
        assert_eq!(single.to_string(), "'x': expected one");
    }
}
