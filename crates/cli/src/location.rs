//! Where a store is: `--store` (or `SERVICE_LIFECYCLE_STORE`) names an embedded store's directory
//! or a PostgreSQL database.
//!
//! - `sled:PATH`, or a bare `PATH`: the embedded store in that directory, on the engine whose
//!   files it holds (sled or redb); a new one is made on sled;
//! - `redb:PATH`: the embedded store in that directory on redb (a new one is made on redb; an
//!   existing sled store there is refused);
//! - `postgres://...` or `postgresql://...` (or `host=... dbname=...` pairs): the PostgreSQL
//!   store in that database, in its `service_lifecycle` schema unless the URL's query names
//!   another with `schema=NAME` (taken off before the URL is given to the client).

use std::fmt;
use std::path::{Path, PathBuf};

use service_lifecycle_sled::Engine;

/// The environment variable that names the store when `--store` is not given.
pub const STORE_VARIABLE: &str = "SERVICE_LIFECYCLE_STORE";

/// Where a store is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// An embedded store's directory: on the engine its files are of, sled for a new one.
    Sled(PathBuf),
    /// An embedded store's directory on redb.
    Redb(PathBuf),
    /// A PostgreSQL database and the schema holding the store.
    Postgres {
        /// The connection URL, without the `schema` parameter.
        url: String,
        /// The schema.
        schema: String,
    },
}

impl std::str::FromStr for StoreLocation {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.is_empty() {
            return Err("the store location is empty: give a directory (sled:PATH) or a PostgreSQL URL (postgres://...)".into());
        }
        if let Some(path) = text.strip_prefix("sled:") {
            return Ok(Self::Sled(PathBuf::from(path)));
        }
        if let Some(path) = text.strip_prefix("redb:") {
            return Ok(Self::Redb(PathBuf::from(path)));
        }
        let is_postgres = text.starts_with("postgres://")
            || text.starts_with("postgresql://")
            || text.starts_with("host=");
        if !is_postgres {
            return Ok(Self::Sled(PathBuf::from(text)));
        }
        let (mut url, mut schema) = (text.to_owned(), "service_lifecycle".to_owned());
        if let Some((base, query)) = text.split_once('?') {
            let mut kept = Vec::new();
            for pair in query.split('&') {
                match pair.strip_prefix("schema=") {
                    Some(name) => schema = name.to_owned(),
                    None => kept.push(pair),
                }
            }
            url = if kept.is_empty() {
                base.to_owned()
            } else {
                format!("{base}?{}", kept.join("&"))
            };
        }
        Ok(Self::Postgres { url, schema })
    }
}

impl StoreLocation {
    /// The directory of an embedded store, with the engine it was named with (`None`: the one
    /// its files are of, sled for a new store); `None` for PostgreSQL.
    pub fn embedded(&self) -> Option<(&Path, Option<Engine>)> {
        match self {
            Self::Sled(path) => Some((path, None)),
            Self::Redb(path) => Some((path, Some(Engine::Redb))),
            Self::Postgres { .. } => None,
        }
    }
}

impl fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sled(path) => write!(f, "{}", path.display()),
            Self::Redb(path) => write!(f, "redb:{}", path.display()),
            Self::Postgres { url, schema } => {
                let url = service_lifecycle_postgres::redacted(url);
                write!(f, "{url} (schema {schema})")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_read_as_a_sled_directory_or_a_postgres_url_with_its_schema() {
        assert_eq!(
            "data/store".parse(),
            Ok(StoreLocation::Sled("data/store".into()))
        );
        assert_eq!("sled:/x".parse(), Ok(StoreLocation::Sled("/x".into())));
        assert_eq!("redb:/x".parse(), Ok(StoreLocation::Redb("/x".into())));
        assert_eq!(
            "redb:/x".parse::<StoreLocation>().unwrap().embedded(),
            Some((Path::new("/x"), Some(Engine::Redb)))
        );
        assert_eq!(
            "postgres://app@db/shop".parse(),
            Ok(StoreLocation::Postgres {
                url: "postgres://app@db/shop".into(),
                schema: "service_lifecycle".into()
            })
        );
        assert_eq!(
            "postgresql://app@db/shop?schema=north&sslmode=disable".parse(),
            Ok(StoreLocation::Postgres {
                url: "postgresql://app@db/shop?sslmode=disable".into(),
                schema: "north".into()
            })
        );
        assert!("".parse::<StoreLocation>().is_err());
        let shown = "postgres://app:secret@db/shop"
            .parse::<StoreLocation>()
            .unwrap()
            .to_string();
        assert!(!shown.contains("secret"), "{shown}");
    }
}
