//! The reference's statements (docs/storage.md §11.3) with bound parameters instead of spliced
//! values. Table names are spliced, as in the reference (they come from the configuration
//! and are checked to be SQL identifiers).

/// The SQL text of every statement for one pair of tables.
#[derive(Debug, Clone)]
pub(crate) struct Statements {
    /// `$1` sid, `$2` name, `$3` data, `$4` now + ttl.
    pub(crate) set: String,
    /// `$1` now + stale_ttl, `$2` old sid.
    pub(crate) expire: String,
    /// `$1` sid, `$2` now.
    pub(crate) get: String,
    /// `$1` aud, `$2` sub, `$3` now.
    pub(crate) get_meta: String,
    /// `$1` sid.
    pub(crate) delete: String,
    /// `$1` now.
    pub(crate) cleanup: String,
    table_meta: String,
}

impl Statements {
    pub(crate) fn new(table: &str, table_meta: &str) -> Self {
        Self {
            set: format!(
                "INSERT INTO {table} (sid, name, data, exp) \
                 VALUES ($1, $2, $3, TO_TIMESTAMP($4) AT TIME ZONE 'UTC') \
                 ON CONFLICT (sid) DO UPDATE SET data = EXCLUDED.data, exp = EXCLUDED.exp"
            ),
            expire: format!(
                "UPDATE {table} SET exp = TO_TIMESTAMP($1) AT TIME ZONE 'UTC' \
                 WHERE sid = $2 AND exp > TO_TIMESTAMP($1) AT TIME ZONE 'UTC'"
            ),
            get: format!(
                "SELECT data FROM {table} WHERE sid = $1 AND exp >= TO_TIMESTAMP($2) AT TIME ZONE 'UTC'"
            ),
            get_meta: format!(
                "SELECT sid, exp FROM {table_meta} JOIN {table} USING (sid) \
                 WHERE aud = $1 AND sub = $2 AND exp >= TO_TIMESTAMP($3)"
            ),
            delete: format!("DELETE FROM {table} WHERE sid = $1"),
            cleanup: format!("DELETE FROM {table} WHERE exp < TO_TIMESTAMP($1)"),
            table_meta: table_meta.to_owned(),
        }
    }

    /// SET_META for `pairs` (aud, sub) tuples: `$1` sid, then `$2k`, `$2k+1` the pair's
    /// audience and subject. Tuples are separated by `", "` as in the reference.
    pub(crate) fn set_meta(&self, pairs: usize) -> String {
        let mut sql = format!("INSERT INTO {} (aud, sub, sid) VALUES ", self.table_meta);
        for i in 0..pairs {
            if i > 0 {
                sql.push_str(", ");
            }
            let a = 2 * i + 2;
            sql.push_str(&format!("(${a}, ${}, $1)", a + 1));
        }
        sql.push_str(" ON CONFLICT DO NOTHING");
        sql
    }
}

/// The schema of docs/storage.md §11.1 for these tables, made idempotent: `IF NOT EXISTS` on the
/// tables and on the `exp` index, which gets the name PostgreSQL gives `CREATE INDEX ON
/// table (exp)` (`<table>_exp_idx`).
pub(crate) fn schema(table: &str, table_meta: &str) -> String {
    // The index is created in the table's schema; its name is unqualified.
    let last = table.rsplit('.').next().unwrap_or(table);
    let index = match last.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        Some(inner) => format!("\"{inner}_exp_idx\""),
        None => format!("{last}_exp_idx"),
    };
    format!(
        "CREATE TABLE IF NOT EXISTS {table} (\n  \
           sid  TEXT PRIMARY KEY,\n  \
           name TEXT,\n  \
           data TEXT,\n  \
           exp  TIMESTAMP WITH TIME ZONE\n\
         );\n\
         CREATE INDEX IF NOT EXISTS {index} ON {table} (exp);\n\
         CREATE TABLE IF NOT EXISTS {table_meta} (\n  \
           aud TEXT,\n  \
           sub TEXT,\n  \
           sid TEXT REFERENCES {table} (sid) ON DELETE CASCADE ON UPDATE CASCADE,\n  \
           PRIMARY KEY (aud, sub, sid)\n\
         )"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_the_references_with_placeholders() {
        let s = Statements::new("sessions", "sessions_meta");
        assert_eq!(
            s.set,
            "INSERT INTO sessions (sid, name, data, exp) VALUES ($1, $2, $3, TO_TIMESTAMP($4) AT TIME ZONE 'UTC') ON CONFLICT (sid) DO UPDATE SET data = EXCLUDED.data, exp = EXCLUDED.exp"
        );
        assert_eq!(
            s.expire,
            "UPDATE sessions SET exp = TO_TIMESTAMP($1) AT TIME ZONE 'UTC' WHERE sid = $2 AND exp > TO_TIMESTAMP($1) AT TIME ZONE 'UTC'"
        );
        assert_eq!(
            s.get,
            "SELECT data FROM sessions WHERE sid = $1 AND exp >= TO_TIMESTAMP($2) AT TIME ZONE 'UTC'"
        );
        assert_eq!(
            s.get_meta,
            "SELECT sid, exp FROM sessions_meta JOIN sessions USING (sid) WHERE aud = $1 AND sub = $2 AND exp >= TO_TIMESTAMP($3)"
        );
        assert_eq!(s.delete, "DELETE FROM sessions WHERE sid = $1");
        assert_eq!(
            s.cleanup,
            "DELETE FROM sessions WHERE exp < TO_TIMESTAMP($1)"
        );
        assert_eq!(
            s.set_meta(2),
            "INSERT INTO sessions_meta (aud, sub, sid) VALUES ($2, $3, $1), ($4, $5, $1) ON CONFLICT DO NOTHING"
        );
    }

    #[test]
    fn schema_index_name() {
        assert!(
            schema("app.sessions", "app.sessions_meta")
                .contains("CREATE INDEX IF NOT EXISTS sessions_exp_idx ON app.sessions (exp)")
        );
        assert!(schema("\"S\"", "m").contains("\"S_exp_idx\" ON \"S\""));
    }
}
