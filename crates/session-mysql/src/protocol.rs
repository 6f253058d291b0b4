//! The reference's statements (docs/storage.md §12.3), with bound parameters in place of the values
//! lua-resty-session splices into the text.

use crate::config::quote_table;

/// The statements of one store, built once from its (validated) table names.
#[derive(Debug, Clone)]
pub(crate) struct Statements {
    /// `{T}`, backtick-quoted.
    pub(crate) table: String,
    /// `{TM}`, backtick-quoted.
    pub(crate) table_meta: String,
    /// SET: params `key, name, value, now+ttl`.
    pub(crate) set: String,
    /// EXPIRE: params `now+stale_ttl, old_key, now+stale_ttl`.
    pub(crate) expire: String,
    /// GET: params `key, now`.
    pub(crate) get: String,
    /// GET_META (normalised exp): params `aud, sub, now`.
    pub(crate) get_meta: String,
    /// DELETE: param `key`.
    pub(crate) delete: String,
    /// CLEANUP: param `now`.
    pub(crate) cleanup: String,
}

impl Statements {
    pub(crate) fn new(table: &str, table_meta: &str) -> Self {
        let t = quote_table(table);
        let tm = quote_table(table_meta);
        Self {
            // The reference writes `VALUES (...) AS new ON DUPLICATE KEY UPDATE data =
            // new.data`, which MariaDB cannot parse; `VALUES(data)` means the same and runs on
            // MariaDB and MySQL alike (docs/storage.md §12.4). Only `data` is updated: `exp` and `name`
            // keep their old values, as in the reference.
            set: format!(
                "INSERT INTO {t} (sid, name, data, exp) VALUES (?, ?, ?, FROM_UNIXTIME(?)) \
                 ON DUPLICATE KEY UPDATE data = VALUES(data)"
            ),
            expire: format!(
                "UPDATE {t} SET exp = FROM_UNIXTIME(?) WHERE sid = ? AND exp > FROM_UNIXTIME(?)"
            ),
            get: format!("SELECT data FROM {t} WHERE sid = ? AND exp >= FROM_UNIXTIME(?)"),
            // The reference selects `exp` (a DATETIME in the session time zone); its Unix time
            // is read with UNIX_TIMESTAMP, the inverse of FROM_UNIXTIME in the same zone.
            get_meta: format!(
                "SELECT sid, UNIX_TIMESTAMP(exp) FROM {tm} JOIN {t} USING (sid) \
                 WHERE aud = ? AND sub = ? AND exp >= FROM_UNIXTIME(?)"
            ),
            delete: format!("DELETE FROM {t} WHERE sid = ?"),
            cleanup: format!("DELETE FROM {t} WHERE exp < FROM_UNIXTIME(?)"),
            table: t,
            table_meta: tm,
        }
    }

    /// SET_META for `pairs` (audience, subject) tuples: params `aud, sub, key` per pair.
    pub(crate) fn set_meta(&self, pairs: usize) -> String {
        let tuples = vec!["(?, ?, ?)"; pairs].join(", ");
        format!(
            "INSERT INTO {} (aud, sub, sid) VALUES {tuples} ON DUPLICATE KEY UPDATE sid = sid",
            self.table_meta
        )
    }

    /// The reference schema (docs/storage.md §12.1) with the given table character set.
    pub(crate) fn schema(&self, charset: &str) -> [String; 2] {
        let (t, tm) = (&self.table, &self.table_meta);
        [
            format!(
                "CREATE TABLE IF NOT EXISTS {t} (\n  sid  CHAR(43) PRIMARY KEY,\n  \
                 name VARCHAR(255),\n  data MEDIUMTEXT,\n  exp  DATETIME,\n  INDEX (exp)\n\
                 ) CHARACTER SET {charset}"
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS {tm} (\n  aud VARCHAR(255),\n  sub VARCHAR(255),\n  \
                 sid CHAR(43),\n  PRIMARY KEY (aud, sub, sid),\n  CONSTRAINT FOREIGN KEY (sid) \
                 REFERENCES {t}(sid) ON DELETE CASCADE ON UPDATE CASCADE\n) CHARACTER SET {charset}"
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_the_references_with_placeholders() {
        let s = Statements::new("sessions", "sessions_meta");
        assert_eq!(
            s.set,
            "INSERT INTO `sessions` (sid, name, data, exp) VALUES (?, ?, ?, FROM_UNIXTIME(?)) \
             ON DUPLICATE KEY UPDATE data = VALUES(data)"
        );
        assert_eq!(
            s.expire,
            "UPDATE `sessions` SET exp = FROM_UNIXTIME(?) WHERE sid = ? AND exp > FROM_UNIXTIME(?)"
        );
        assert_eq!(
            s.set_meta(2),
            "INSERT INTO `sessions_meta` (aud, sub, sid) VALUES (?, ?, ?), (?, ?, ?) \
             ON DUPLICATE KEY UPDATE sid = sid"
        );
        assert_eq!(
            s.get,
            "SELECT data FROM `sessions` WHERE sid = ? AND exp >= FROM_UNIXTIME(?)"
        );
        assert_eq!(s.delete, "DELETE FROM `sessions` WHERE sid = ?");
        assert_eq!(
            s.cleanup,
            "DELETE FROM `sessions` WHERE exp < FROM_UNIXTIME(?)"
        );
        assert!(
            s.get_meta
                .contains("FROM `sessions_meta` JOIN `sessions` USING (sid)")
        );
        let [a, b] = s.schema("ascii");
        assert!(a.contains("sid  CHAR(43) PRIMARY KEY") && a.ends_with("CHARACTER SET ascii"));
        assert!(b.contains("REFERENCES `sessions`(sid) ON DELETE CASCADE ON UPDATE CASCADE"));
    }
}
