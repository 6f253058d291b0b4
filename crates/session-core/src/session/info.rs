//! The info store (Lua `session.info`, docs/payload.md §7).

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use session_storage::SetRequest;

use super::{MAX_TTL, Session};
use crate::error::{Error, Operation};

/// The info store of a session (Lua `session.info`, docs/payload.md §7): with a
/// server-side storage a per-audience object kept next to the payload (not
/// encrypted); with cookie storage the data keys `@key`.
#[derive(Debug)]
pub struct Info<'a> {
    session: &'a mut Session,
}

impl Session {
    /// The info store (Lua `session.info`, docs/payload.md §7).
    ///
    /// ```
    /// # use session_core::*;
    /// let mut s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// s.info().set("k", &"v").unwrap();
    /// assert_eq!(s.info().get::<String>("k").unwrap().as_deref(), Some("v"));
    /// ```
    pub fn info(&mut self) -> Info<'_> {
        Info { session: self }
    }
}

impl Info<'_> {
    /// Set an info value (`info:set`).
    ///
    /// # Errors
    ///
    /// The value does not serialize; closed session.
    ///
    /// ```
    /// # use session_core::*;
    /// let mut s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// s.info().set("k", &1).unwrap();
    /// ```
    pub fn set<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), Error> {
        let s = &mut *self.session;
        s.not_closed(Operation::InfoSet)?;
        let value = serde_json::to_value(value).map_err(Error::Value)?;
        if !s.config.has_storage() {
            let data = s.entry_mut().data.value_mut().map_err(Error::JsonDecode)?;
            let Value::Object(map) = data else {
                return Err(Error::InvalidData);
            };
            map.insert(format!("@{key}"), value);
            return Ok(());
        }
        let audience = s.entry().audience.clone().unwrap_or_default();
        let info = s.info.get_or_insert_with(Map::new);
        let slot = info
            .entry(audience)
            .or_insert_with(|| Value::Object(Map::new()));
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        if let Value::Object(map) = slot {
            map.insert(key.to_owned(), value);
        }
        Ok(())
    }

    /// Get an info value (`info:get`).
    ///
    /// # Errors
    ///
    /// The value does not deserialize; closed session.
    ///
    /// ```
    /// # use session_core::*;
    /// let mut s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// assert_eq!(s.info().get::<i32>("k").unwrap(), None);
    /// ```
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Error> {
        let s = &*self.session;
        s.not_closed(Operation::InfoGet)?;
        if !s.config.has_storage() {
            return s.entry().data.get(&format!("@{key}")).map_err(Error::Value);
        }
        let audience = s.entry().audience.clone().unwrap_or_default();
        let value = s
            .info
            .as_ref()
            .and_then(|i| i.get(&audience))
            .and_then(|o| o.get(key));
        match value {
            Some(v) => T::deserialize(v).map(Some).map_err(Error::Value),
            None => Ok(None),
        }
    }

    /// Persist the info store (`info:save`): with a storage, rewrite the
    /// current record (no new session id, no cookie); with cookie storage,
    /// a full [`Session::save`]. Returns success (the reference returns
    /// nothing, docs/semantics.md §19 #3).
    ///
    /// # Errors
    ///
    /// `unable to save session info on nonexistent session` / closed session;
    /// storage failures.
    ///
    /// ```
    /// # session_core::block_on(async {
    /// # use session_core::*;
    /// let mut s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// assert!(s.info().save().await.is_err());
    /// s.save().await.unwrap();
    /// s.info().save().await.unwrap();
    /// # });
    /// ```
    pub async fn save(&mut self) -> Result<(), Error> {
        let s = &mut *self.session;
        s.must_be_open(Operation::InfoSave)?;
        let c = s.config.clone();
        let Some(storage) = c.storage() else {
            return s.save().await;
        };
        if s.info.as_ref().is_none_or(Map::is_empty) {
            return Ok(());
        }
        let Some(meta) = &s.meta else {
            return Err(Error::Nonexistent(Operation::InfoSave));
        };
        let stored = s.stored_record(&meta.payload_part)?;
        let key = c.storage_key(&meta.header.sid);
        let now = i64::try_from(c.now()).unwrap_or(i64::MAX);
        let creation = i64::try_from(meta.header.creation_time).unwrap_or(i64::MAX);
        let mut ttl = MAX_TTL;
        if c.rolling_timeout() > 0 && c.rolling_timeout() < MAX_TTL {
            ttl = c.rolling_timeout();
        }
        ttl -= now - creation - i64::from(meta.header.rolling_offset);
        if c.absolute_timeout() > 0 && c.absolute_timeout() < MAX_TTL {
            ttl = ttl.min(c.absolute_timeout() - (now - creation));
        }
        let ttl = u64::try_from(ttl.max(1)).unwrap_or(1);
        let req = SetRequest::new(c.cookie_name(), &key, &stored, ttl, now);
        storage.dyn_set(&req).await.map_err(Error::StoreInfo)
    }
}
