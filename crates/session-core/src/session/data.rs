//! The Lua accessors: data, values, audience, subject, remember, properties.

use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use session_codec::Flags;

use super::{Property, Session};
use crate::error::{Error, Operation};
use crate::payload::Data;

impl Session {
    /// Replace the current audience's data (Lua `set_data`); it must be a JSON
    /// object or array.
    ///
    /// # Errors
    ///
    /// `invalid session data` for other values; closed session.
    ///
    /// ```
    /// # use session_core::*;
    /// let mut s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// s.set_data(serde_json::json!({"a": 1})).unwrap();
    /// assert!(s.set_data(serde_json::json!(1)).is_err());
    /// ```
    pub fn set_data(&mut self, data: Value) -> Result<(), Error> {
        self.not_closed(Operation::SetData)?;
        if !matches!(data, Value::Object(_) | Value::Array(_)) {
            return Err(Error::InvalidData);
        }
        self.entry_mut().data = Data::new(data);
        Ok(())
    }

    /// The current audience's data (Lua `get_data`).
    ///
    /// # Errors
    ///
    /// Closed session.
    ///
    /// ```
    /// # use session_core::*;
    /// let s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// assert_eq!(s.get_data().unwrap(), &serde_json::json!({}));
    /// ```
    pub fn get_data(&self) -> Result<&Value, Error> {
        self.not_closed(Operation::GetData)?;
        self.entry().data.value().map_err(Error::JsonDecode)
    }

    /// Set one value (Lua `set(key, value)`). With cookie storage a key
    /// starting with `@` is stored as `$@key` (docs/payload.md §3.5).
    ///
    /// # Errors
    ///
    /// The value does not serialize to JSON; the data is not an object;
    /// closed session.
    ///
    /// ```
    /// # use session_core::*;
    /// let mut s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// s.set("n", &1).unwrap();
    /// assert_eq!(s.get::<i32>("n").unwrap(), Some(1));
    /// ```
    pub fn set<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), Error> {
        self.not_closed(Operation::Set)?;
        let value = serde_json::to_value(value).map_err(Error::Value)?;
        self.set_value(key, Some(value))
    }

    /// Set (`Some`) or remove (`None`, Lua `set(key, nil)`) one JSON value.
    ///
    /// # Errors
    ///
    /// The data is not an object; closed session.
    ///
    /// ```
    /// # use session_core::*;
    /// let mut s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// s.set_value("k", Some(serde_json::json!("v"))).unwrap();
    /// s.set_value("k", None).unwrap();
    /// assert_eq!(s.get_value("k").unwrap(), None);
    /// ```
    pub fn set_value(&mut self, key: &str, value: Option<Value>) -> Result<(), Error> {
        self.not_closed(Operation::Set)?;
        let key = self.data_key(key).into_owned();
        let data = self
            .entry_mut()
            .data
            .value_mut()
            .map_err(Error::JsonDecode)?;
        if let Value::Array(items) = data
            && items.is_empty()
        {
            *data = Value::Object(Map::new());
        }
        let Value::Object(map) = data else {
            return Err(Error::InvalidData);
        };
        match value {
            Some(v) => {
                map.insert(key, v);
            }
            None => {
                map.remove(&key);
            }
        }
        Ok(())
    }

    /// Get one value, deserialized (Lua `get(key)`).
    ///
    /// # Errors
    ///
    /// The value does not deserialize into `T`; closed session.
    ///
    /// ```
    /// # use session_core::*;
    /// let s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// assert_eq!(s.get::<String>("missing").unwrap(), None);
    /// ```
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Error> {
        self.not_closed(Operation::Get)?;
        let key = self.data_key(key);
        self.entry().data.get(key.as_ref()).map_err(Error::Value)
    }

    /// Get one raw JSON value.
    ///
    /// # Errors
    ///
    /// Closed session.
    ///
    /// ```
    /// # use session_core::*;
    /// let s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// assert!(s.get_value("x").unwrap().is_none());
    /// ```
    pub fn get_value(&self, key: &str) -> Result<Option<&Value>, Error> {
        self.not_closed(Operation::Get)?;
        let key = self.data_key(key);
        let data = self.entry().data.value().map_err(Error::JsonDecode)?;
        Ok(data.get(key.as_ref()))
    }

    /// Move the current entry to another audience (Lua `set_audience`, spec
    /// 03 §3.1).
    ///
    /// # Errors
    ///
    /// Closed session.
    ///
    /// ```
    /// # use session_core::*;
    /// let mut s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// s.set_audience("shop").unwrap();
    /// assert_eq!(s.get_audience().unwrap(), Some("shop"));
    /// ```
    pub fn set_audience(&mut self, audience: &str) -> Result<(), Error> {
        self.not_closed(Operation::SetAudience)?;
        let old = self.entry().audience.clone();
        if old.as_deref() == Some(audience) {
            return Ok(());
        }
        if let Some(info) = &mut self.info
            && let Some(old) = &old
            && let Some(obj) = info.remove(old)
        {
            info.insert(audience.to_owned(), obj);
        }
        if self.entries.len() == 1 {
            self.entry_mut().audience = Some(audience.to_owned());
            return Ok(());
        }
        let other = self
            .entries
            .iter()
            .position(|e| e.audience.as_deref() == Some(audience));
        self.entry_mut().audience = Some(audience.to_owned());
        if let Some(p) = other
            && p != self.current
        {
            Arc::make_mut(&mut self.entries).remove(p);
            if p < self.current {
                self.current -= 1;
            }
        }
        Ok(())
    }

    /// The current audience (Lua `get_audience`); `None` if Lua wrote `null`.
    ///
    /// # Errors
    ///
    /// Closed session.
    ///
    /// ```
    /// # use session_core::*;
    /// let s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// assert_eq!(s.get_audience().unwrap(), Some("default"));
    /// ```
    pub fn get_audience(&self) -> Result<Option<&str>, Error> {
        self.not_closed(Operation::GetAudience)?;
        Ok(self.entry().audience.as_deref())
    }

    /// Set or clear the current subject (Lua `set_subject`).
    ///
    /// # Errors
    ///
    /// Closed session.
    ///
    /// ```
    /// # use session_core::*;
    /// let mut s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// s.set_subject(Some("john")).unwrap();
    /// assert_eq!(s.get_subject().unwrap(), Some("john"));
    /// ```
    pub fn set_subject(&mut self, subject: Option<&str>) -> Result<(), Error> {
        self.not_closed(Operation::SetSubject)?;
        self.entry_mut().subject = subject.map(str::to_owned);
        Ok(())
    }

    /// The current subject (Lua `get_subject`).
    ///
    /// # Errors
    ///
    /// Closed session.
    ///
    /// ```
    /// # use session_core::*;
    /// let s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// assert_eq!(s.get_subject().unwrap(), None);
    /// ```
    pub fn get_subject(&self) -> Result<Option<&str>, Error> {
        self.not_closed(Operation::GetSubject)?;
        Ok(self.entry().subject.as_deref())
    }

    /// Turn persistent ("remember me") cookies on or off (Lua
    /// `set_remember`, docs/semantics.md §8).
    ///
    /// # Errors
    ///
    /// Closed session.
    ///
    /// ```
    /// # use session_core::*;
    /// let mut s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// s.set_remember(true).unwrap();
    /// assert!(s.get_remember().unwrap());
    /// ```
    pub fn set_remember(&mut self, remember: bool) -> Result<(), Error> {
        self.not_closed(Operation::SetRemember)?;
        self.flags.set(Flags::FORGET, !remember);
        self.remember = remember;
        Ok(())
    }

    /// Whether a remember cookie is written (Lua `get_remember`, docs/semantics.md §12):
    /// false once the session cookie carries FORGET.
    ///
    /// # Errors
    ///
    /// Closed session.
    ///
    /// ```
    /// # use session_core::*;
    /// let s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// assert!(!s.get_remember().unwrap());
    /// ```
    pub fn get_remember(&self) -> Result<bool, Error> {
        self.not_closed(Operation::GetRemember)?;
        Ok(self.remember_active())
    }

    pub(super) fn remember_active(&self) -> bool {
        if self
            .meta
            .as_ref()
            .is_some_and(|m| m.header.flags.contains(Flags::FORGET))
        {
            return false;
        }
        if self.flags.contains(Flags::FORGET) {
            return false;
        }
        self.remember
    }

    /// A session property (Lua `get_property`, docs/semantics.md §16): `id`, `nonce`,
    /// `audience`, `subject`, `timeout`, `idling-timeout`, `rolling-timeout`,
    /// `absolute-timeout` (also with `_`), or a metadata field (`timestamp`,
    /// `flags`, `sid`, `creation_time`, `rolling_offset`, `data_size`,
    /// `idling_offset`, `header`, `initial_chunk`, `ciphertext`). Key material
    /// is never exposed.
    ///
    /// # Errors
    ///
    /// Closed session.
    ///
    /// ```
    /// # use session_core::*;
    /// let s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// assert_eq!(s.get_property("audience").unwrap(), Some(Property::Text("default".into())));
    /// assert_eq!(s.get_property("timeout").unwrap(), None);
    /// ```
    pub fn get_property(&self, name: &str) -> Result<Option<Property>, Error> {
        self.not_closed(Operation::GetProperty)?;
        Ok(self.property(name))
    }

    fn timeouts(&self) -> Option<(Option<i64>, Option<i64>, Option<i64>)> {
        let m = self.meta.as_ref()?;
        let c = &self.config;
        let t = i64::try_from(m.timestamp).unwrap_or(i64::MAX);
        let creation = i64::try_from(m.header.creation_time).unwrap_or(i64::MAX);
        let rolling = i64::from(m.header.rolling_offset);
        let idling = i64::from(m.header.idling_offset);
        let since_save = t - creation - rolling;
        Some((
            (c.idling_timeout() != 0).then(|| c.idling_timeout() - (since_save - idling)),
            (c.rolling_timeout() != 0).then(|| c.rolling_timeout() - since_save),
            (c.absolute_timeout() != 0).then(|| c.absolute_timeout() - (t - creation)),
        ))
    }

    pub(super) fn property(&self, name: &str) -> Option<Property> {
        let meta = self.meta.as_ref();
        let number = |n: u64| Property::Number(i64::try_from(n).unwrap_or(i64::MAX));
        match name {
            "id" => meta.map(|m| Property::Text(m.header.sid.to_base64())),
            "nonce" | "sid" => meta.map(|m| Property::Bytes(m.header.sid.as_bytes().to_vec())),
            "audience" => self.entry().audience.clone().map(Property::Text),
            "subject" => self.entry().subject.clone().map(Property::Text),
            "idling-timeout" | "idling_timeout" => self.timeouts()?.0.map(Property::Number),
            "rolling-timeout" | "rolling_timeout" => self.timeouts()?.1.map(Property::Number),
            "absolute-timeout" | "absolute_timeout" => self.timeouts()?.2.map(Property::Number),
            "timeout" => {
                let (i, r, a) = self.timeouts()?;
                [i, r, a].into_iter().flatten().min().map(Property::Number)
            }
            "timestamp" => meta.map(|m| number(m.timestamp)),
            "flags" => meta.map(|m| number(u64::from(m.header.flags.bits()))),
            "creation_time" => meta.map(|m| number(m.header.creation_time)),
            "rolling_offset" => meta.map(|m| number(u64::from(m.header.rolling_offset))),
            "data_size" => meta.map(|m| number(u64::from(m.header.data_size))),
            "idling_offset" => meta.map(|m| number(u64::from(m.header.idling_offset))),
            "header" => {
                meta.and_then(|m| m.header.encode().ok().map(|h| Property::Bytes(h.to_vec())))
            }
            "initial_chunk" if !self.config.has_storage() => {
                meta.map(|m| Property::Text(m.payload_part.clone()))
            }
            "ciphertext" if self.config.has_storage() => {
                meta.map(|m| Property::Text(m.payload_part.clone()))
            }
            _ => None,
        }
    }
}
