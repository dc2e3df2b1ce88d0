//! The server's SQLite database (`restless.sqlite3` in the data folder): the feedback
//! clinicians gave on CDS cards (with the card's topic and indicator, read from the card's id —
//! restless keeps no record of the cards it issues), and the web page's "was this useful?"
//! answers (yes or no and the report's cause ids — no personal data). Writes return only after
//! their transaction is committed with `synchronous = FULL`, so an acknowledged record survives
//! a crash or power loss.
//!
//! rusqlite is synchronous: every call runs on tokio's blocking pool, one connection behind a
//! mutex (SQLite serialises writers anyway).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, params};

/// The file name inside the data folder.
pub const DB_FILE: &str = "restless.sqlite3";

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &[
    r"
CREATE TABLE card (
    uuid       TEXT PRIMARY KEY,
    service    TEXT NOT NULL,
    topic      TEXT NOT NULL,
    indicator  TEXT NOT NULL,
    issued_at  TEXT NOT NULL
);
CREATE TABLE feedback (
    id                   INTEGER PRIMARY KEY,
    service              TEXT NOT NULL,
    card                 TEXT NOT NULL,
    outcome              TEXT NOT NULL,
    outcome_timestamp    TEXT,
    accepted_suggestions TEXT NOT NULL,
    override_code        TEXT,
    override_system      TEXT,
    override_display     TEXT,
    user_comment         TEXT,
    issuer               TEXT NOT NULL,
    received_at          TEXT NOT NULL
);
CREATE INDEX feedback_card ON feedback(card);
",
    r"
CREATE TABLE useful (
    id          INTEGER PRIMARY KEY,
    useful      INTEGER NOT NULL,
    causes      TEXT NOT NULL,
    received_at TEXT NOT NULL
);
",
    // Cards are no longer recorded when issued (their ids carry topic and indicator); feedback
    // keeps them. The `card` table stays for feedback on cards issued before.
    r"
ALTER TABLE feedback ADD COLUMN topic TEXT;
ALTER TABLE feedback ADD COLUMN indicator TEXT;
",
];

/// A database error; the message names the file or the statement, never stored values.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The data folder cannot be created.
    #[error("cannot create the data folder {}: {message}", path.display())]
    Folder {
        /// The folder.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// SQLite failed.
    #[error("database {}: {source}", path.display())]
    Sqlite {
        /// The file.
        path: PathBuf,
        /// The error.
        source: rusqlite::Error,
    },
    /// The blocking task did not finish (a panic or shutdown).
    #[error("database task failed: {0}")]
    Task(String),
    /// The database was already closed.
    #[error("the database is closed")]
    Closed,
}

/// One feedback record as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFeedback {
    /// The CDS service id.
    pub service: String,
    /// The card's uuid.
    pub card: String,
    /// accepted | overridden.
    pub outcome: String,
    /// When the clinician acted, as sent.
    pub outcome_timestamp: Option<String>,
    /// Ids of accepted suggestions.
    pub accepted_suggestions: Vec<String>,
    /// Override reason code.
    pub override_code: Option<String>,
    /// Override reason code system.
    pub override_system: Option<String>,
    /// Override reason display.
    pub override_display: Option<String>,
    /// The clinician's comment.
    pub user_comment: Option<String>,
    /// The verified token's issuer.
    pub issuer: String,
    /// The card's topic (a cause id or `iron-workup`), when the card is one restless issued.
    pub topic: Option<String>,
    /// The card's indicator, likewise.
    pub indicator: Option<String>,
}

/// A stored feedback record, with what is known of its card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFeedback {
    /// Row id.
    pub id: i64,
    /// What was received.
    pub feedback: NewFeedback,
    /// When it was stored (UTC, RFC 3339).
    pub received_at: String,
}

/// One "was this useful?" answer from the web page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsefulFeedback {
    /// Row id.
    pub id: i64,
    /// Yes or no.
    pub useful: bool,
    /// The report's cause ids (present or possible), sorted.
    pub causes: Vec<String>,
    /// When it was stored (UTC, RFC 3339).
    pub received_at: String,
}

/// The database handle; cheap to clone.
#[derive(Clone, Debug)]
pub struct Db {
    path: PathBuf,
    conn: Arc<Mutex<Option<Connection>>>,
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl Db {
    /// Opens (creating when needed) the database in `data_dir` and brings its schema up to
    /// date.
    ///
    /// # Errors
    /// The folder cannot be created or the file is not a usable database.
    pub fn open(data_dir: &Path) -> Result<Db, DbError> {
        std::fs::create_dir_all(data_dir).map_err(|e| DbError::Folder {
            path: data_dir.to_path_buf(),
            message: e.to_string(),
        })?;
        let path = data_dir.join(DB_FILE);
        let err = |source| DbError::Sqlite { path: path.clone(), source };
        let mut conn = Connection::open(&path).map_err(err)?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(err)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(err)?;
        let version: i64 =
            conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(err)?;
        let tx = conn.transaction().map_err(err)?;
        for (i, m) in MIGRATIONS.iter().enumerate() {
            if (i as i64) < version {
                continue;
            }
            tx.execute_batch(m).map_err(err)?;
        }
        tx.pragma_update(None, "user_version", MIGRATIONS.len() as i64).map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(Db { path, conn: Arc::new(Mutex::new(Some(conn))) })
    }

    /// The database file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on the connection on the blocking pool.
    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, rusqlite::Error> + Send + 'static,
    ) -> Result<T, DbError> {
        let conn = Arc::clone(&self.conn);
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let c = guard.as_mut().ok_or(DbError::Closed)?;
            f(c).map_err(|source| DbError::Sqlite { path, source })
        })
        .await
        .map_err(|e| DbError::Task(e.to_string()))?
    }

    /// Whether the database answers.
    ///
    /// # Errors
    /// It does not.
    pub async fn ping(&self) -> Result<(), DbError> {
        self.with(|c| c.query_row("SELECT 1", [], |_| Ok(()))).await
    }

    /// Stores feedback records in one transaction; returns after the commit.
    ///
    /// # Errors
    /// SQLite failed; then nothing was stored.
    pub async fn store_feedback(&self, items: Vec<NewFeedback>) -> Result<usize, DbError> {
        // Acknowledged means on disk: wait for it.
        self.with(move |c| {
            let tx = c.transaction()?;
            let at = now();
            {
                let mut st = tx.prepare_cached(
                    "INSERT INTO feedback (service, card, outcome, outcome_timestamp,
                        accepted_suggestions, override_code, override_system, override_display,
                        user_comment, issuer, received_at, topic, indicator)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                )?;
                for f in &items {
                    let accepted = serde_json::to_string(&f.accepted_suggestions)
                        .unwrap_or_else(|_| "[]".to_owned());
                    st.execute(params![
                        f.service,
                        f.card,
                        f.outcome,
                        f.outcome_timestamp,
                        accepted,
                        f.override_code,
                        f.override_system,
                        f.override_display,
                        f.user_comment,
                        f.issuer,
                        at,
                        f.topic,
                        f.indicator
                    ])?;
                }
            }
            tx.commit()?;
            Ok(items.len())
        })
        .await
    }

    /// Every stored feedback record, oldest first, with the topic of its card when restless
    /// issued it.
    ///
    /// # Errors
    /// SQLite failed.
    pub async fn feedback(&self) -> Result<Vec<StoredFeedback>, DbError> {
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT f.id, f.service, f.card, f.outcome, f.outcome_timestamp,
                    f.accepted_suggestions, f.override_code, f.override_system,
                    f.override_display, f.user_comment, f.issuer, f.received_at,
                    COALESCE(f.topic, card.topic), COALESCE(f.indicator, card.indicator)
                 FROM feedback f LEFT JOIN card ON card.uuid = f.card ORDER BY f.id",
            )?;
            let rows = st.query_map([], |r| {
                let accepted: String = r.get(5)?;
                Ok(StoredFeedback {
                    id: r.get(0)?,
                    feedback: NewFeedback {
                        service: r.get(1)?,
                        card: r.get(2)?,
                        outcome: r.get(3)?,
                        outcome_timestamp: r.get(4)?,
                        accepted_suggestions: serde_json::from_str(&accepted).unwrap_or_default(),
                        override_code: r.get(6)?,
                        override_system: r.get(7)?,
                        override_display: r.get(8)?,
                        user_comment: r.get(9)?,
                        issuer: r.get(10)?,
                        topic: r.get(12)?,
                        indicator: r.get(13)?,
                    },
                    received_at: r.get(11)?,
                })
            })?;
            rows.collect()
        })
        .await
    }

    /// Stores one "was this useful?" answer; returns after the commit.
    ///
    /// # Errors
    /// SQLite failed; then nothing was stored.
    pub async fn store_useful(&self, useful: bool, causes: Vec<String>) -> Result<(), DbError> {
        self.with(move |c| {
            let causes = serde_json::to_string(&causes).unwrap_or_else(|_| "[]".to_owned());
            c.execute(
                "INSERT INTO useful (useful, causes, received_at) VALUES (?1, ?2, ?3)",
                params![useful, causes, now()],
            )
            .map(|_| ())
        })
        .await
    }

    /// Every stored "was this useful?" answer, oldest first.
    ///
    /// # Errors
    /// SQLite failed.
    pub async fn useful_feedback(&self) -> Result<Vec<UsefulFeedback>, DbError> {
        self.with(|c| {
            let mut st =
                c.prepare("SELECT id, useful, causes, received_at FROM useful ORDER BY id")?;
            let rows = st.query_map([], |r| {
                let causes: String = r.get(2)?;
                Ok(UsefulFeedback {
                    id: r.get(0)?,
                    useful: r.get(1)?,
                    causes: serde_json::from_str(&causes).unwrap_or_default(),
                    received_at: r.get(3)?,
                })
            })?;
            rows.collect()
        })
        .await
    }

    /// Checkpoints the write-ahead log into the main file and closes the connection; later
    /// calls fail with [`DbError::Closed`].
    ///
    /// # Errors
    /// SQLite failed to close cleanly.
    pub async fn close(&self) -> Result<(), DbError> {
        let conn = Arc::clone(&self.conn);
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let Some(c) = guard.take() else { return Ok(()) };
            let err = |source| DbError::Sqlite { path: path.clone(), source };
            c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).map_err(err)?;
            c.close().map_err(|(_, source)| err(source))
        })
        .await
        .map_err(|e| DbError::Task(e.to_string()))?
    }
}
