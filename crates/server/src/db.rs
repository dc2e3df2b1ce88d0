//! The server's SQLite database (`restless.sqlite3` in the data folder): the cards the CDS
//! services issued (id, service, topic, indicator, time — no patient data), the feedback
//! clinicians gave on them, and the web page's "was this useful?" answers (yes or no and the
//! report's cause ids — no personal data). Feedback and "was this useful?" writes return only
//! after their transaction is committed with `synchronous = FULL`, so an acknowledged record
//! survives a crash or power loss; issued cards (analytics that link feedback to a topic) are
//! committed with `synchronous = NORMAL` and may lose the last moments of a power cut.
//!
//! rusqlite is synchronous: every call runs on tokio's blocking pool, one connection behind a
//! mutex (SQLite serialises writers anyway). Issued cards are not written by the request that
//! issues them: they join a queue that one background task writes in a single transaction per
//! batch (group commit), so a busy server makes one small write for many calls and no call waits
//! for the database. Reading feedback, and closing, first write what is queued.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, params};

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

/// One issued card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCard {
    /// The card's `uuid`.
    pub uuid: String,
    /// The CDS service id.
    pub service: String,
    /// The card's `source.topic.code` (a cause id or `iron-workup`).
    pub topic: String,
    /// info | warning | critical.
    pub indicator: String,
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
    /// The card's topic when restless issued it.
    pub topic: Option<String>,
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

/// At most this many issued cards wait to be written; beyond, new ones are not recorded (the
/// cards are still answered; only their feedback analytics lose a topic) and a warning says so.
const MAX_QUEUED_CARDS: usize = 100_000;

/// How long queued cards wait for others before they are written together. A crash loses at
/// most this much card history (never feedback, which is written before it is acknowledged).
const CARD_BATCH_WAIT: std::time::Duration = std::time::Duration::from_millis(50);

/// The database handle; cheap to clone.
#[derive(Clone, Debug)]
pub struct Db {
    path: PathBuf,
    conn: Arc<Mutex<Option<Connection>>>,
    cards: Arc<Mutex<CardQueue>>,
}

#[derive(Debug, Default)]
struct CardQueue {
    pending: Vec<IssuedCard>,
    /// A background write is scheduled or running.
    scheduled: bool,
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
        // The connection's everyday mode; durable writes switch to FULL for their transaction
        // (`with_durable`). Switching costs a statement, so the frequent card writes never do.
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(err)?;
        Ok(Db {
            path,
            conn: Arc::new(Mutex::new(Some(conn))),
            cards: Arc::new(Mutex::new(CardQueue::default())),
        })
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

    /// Runs `f` like [`Db::with`] with `synchronous = FULL`: its commit returns only once the
    /// data is on disk. The connection goes back to NORMAL afterwards, whatever `f` did.
    async fn with_durable<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, rusqlite::Error> + Send + 'static,
    ) -> Result<T, DbError> {
        self.with(move |c| {
            c.pragma_update(None, "synchronous", "FULL")?;
            let out = f(c);
            let back = c.pragma_update(None, "synchronous", "NORMAL");
            let out = out?;
            back.map(|()| out)
        })
        .await
    }

    /// Whether the database answers.
    ///
    /// # Errors
    /// It does not.
    pub async fn ping(&self) -> Result<(), DbError> {
        self.with(|c| c.query_row("SELECT 1", [], |_| Ok(()))).await
    }

    /// Queues the cards of one response for the background writer and returns at once. Must
    /// be called within the tokio runtime.
    pub fn record_cards(&self, cards: Vec<IssuedCard>) {
        if cards.is_empty() {
            return;
        }
        let mut q = self.cards.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if q.pending.len() + cards.len() > MAX_QUEUED_CARDS {
            drop(q);
            tracing::warn!(cards = cards.len(), "card queue full: issued cards not recorded");
            return;
        }
        q.pending.extend(cards);
        if q.scheduled {
            return;
        }
        q.scheduled = true;
        drop(q);
        let db = self.clone();
        tokio::spawn(async move {
            // A short wait gathers the cards of many calls into one transaction.
            tokio::time::sleep(CARD_BATCH_WAIT).await;
            // (The task is detached: if the runtime stops first, `close` writes the queue.)
            drop(tokio::task::spawn_blocking(move || db.write_all_queued()));
        });
    }

    /// The background writer: writes batches until the queue is empty.
    fn write_all_queued(&self) {
        loop {
            let mut guard = self.conn.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let written = match guard.as_mut() {
                Some(c) => self.write_queued(c),
                None => Ok(0),
            };
            drop(guard);
            if let Err(e) = written {
                // The cards still helped the clinician; only feedback analytics lose their
                // topic.
                tracing::error!(error = %e, "issued cards not recorded");
            }
            // Stop only when nothing was queued meanwhile, deciding under the queue's lock so
            // that a card queued now finds either this writer running or none.
            let mut q = self.cards.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if q.pending.is_empty() {
                q.scheduled = false;
                break;
            }
        }
    }

    /// Writes the queued cards in one transaction, holding the connection (so that when a
    /// reader holds it next, no taken batch is still unwritten); returns how many.
    fn write_queued(&self, c: &mut Connection) -> Result<usize, DbError> {
        let cards = {
            let mut q = self.cards.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            std::mem::take(&mut q.pending)
        };
        if cards.is_empty() {
            return Ok(0);
        }
        let err = |source| DbError::Sqlite { path: self.path.clone(), source };
        // Issued cards only link later feedback to a topic: they are committed without waiting
        // for the disk (WAL, synchronous = NORMAL, the connection's everyday mode).
        let tx = c.transaction().map_err(err)?;
        let at = now();
        {
            let mut st = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO card (uuid, service, topic, indicator, issued_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(err)?;
            for card in &cards {
                st.execute(params![card.uuid, card.service, card.topic, card.indicator, at])
                    .map_err(err)?;
            }
        }
        tx.commit().map_err(err)?;
        Ok(cards.len())
    }

    /// Stores feedback records in one transaction; returns after the commit.
    ///
    /// # Errors
    /// SQLite failed; then nothing was stored.
    pub async fn store_feedback(&self, items: Vec<NewFeedback>) -> Result<usize, DbError> {
        // Acknowledged means on disk: wait for it.
        self.with_durable(move |c| {
            let tx = c.transaction()?;
            let at = now();
            {
                let mut st = tx.prepare_cached(
                    "INSERT INTO feedback (service, card, outcome, outcome_timestamp,
                        accepted_suggestions, override_code, override_system, override_display,
                        user_comment, issuer, received_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
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
                        at
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
        let db = self.clone();
        self.with(move |c| {
            // Cards still queued are written first, so that their topics show.
            if let Err(e) = db.write_queued(c) {
                tracing::error!(error = %e, "issued cards not recorded");
            }
            let mut st = c.prepare(
                "SELECT f.id, f.service, f.card, f.outcome, f.outcome_timestamp,
                    f.accepted_suggestions, f.override_code, f.override_system,
                    f.override_display, f.user_comment, f.issuer, f.received_at, card.topic
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
                    },
                    received_at: r.get(11)?,
                    topic: r.get(12)?,
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
        self.with_durable(move |c| {
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

    /// The topic of an issued card.
    ///
    /// # Errors
    /// SQLite failed.
    pub async fn card_topic(&self, uuid: String) -> Result<Option<String>, DbError> {
        let db = self.clone();
        self.with(move |c| {
            if let Err(e) = db.write_queued(c) {
                tracing::error!(error = %e, "issued cards not recorded");
            }
            c.query_row("SELECT topic FROM card WHERE uuid = ?1", [uuid], |r| r.get(0)).optional()
        })
        .await
    }

    /// Checkpoints the write-ahead log into the main file and closes the connection; later
    /// calls fail with [`DbError::Closed`].
    ///
    /// # Errors
    /// SQLite failed to close cleanly.
    pub async fn close(&self) -> Result<(), DbError> {
        let db = self.clone();
        let conn = Arc::clone(&self.conn);
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let Some(mut c) = guard.take() else { return Ok(()) };
            let err = |source| DbError::Sqlite { path: path.clone(), source };
            // What is queued is written before the connection goes.
            db.write_queued(&mut c)?;
            c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).map_err(err)?;
            c.close().map_err(|(_, source)| err(source))
        })
        .await
        .map_err(|e| DbError::Task(e.to_string()))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(i: usize) -> IssuedCard {
        IssuedCard {
            uuid: format!("card-{i}"),
            service: "restless-patient-view".to_owned(),
            topic: format!("topic-{}", i % 7),
            indicator: "info".to_owned(),
        }
    }

    fn feedback_on(card: &str) -> NewFeedback {
        NewFeedback {
            service: "restless-patient-view".to_owned(),
            card: card.to_owned(),
            outcome: "accepted".to_owned(),
            outcome_timestamp: None,
            accepted_suggestions: Vec::new(),
            override_code: None,
            override_system: None,
            override_display: None,
            user_comment: None,
            issuer: "https://ehr.example.org".to_owned(),
        }
    }

    /// Cards queued from many tasks at once are all written: their topics show in feedback
    /// read at once after, and in a database reopened after `close`.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn queued_cards_are_all_written_before_reads_and_on_close() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let mut tasks = Vec::new();
        for t in 0..8 {
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..50 {
                    db.record_cards(vec![card(t * 100 + i)]);
                    tokio::task::yield_now().await;
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        db.store_feedback(vec![feedback_on("card-749"), feedback_on("card-3")]).await.unwrap();
        let stored = db.feedback().await.unwrap();
        let topics: Vec<Option<&str>> = stored.iter().map(|f| f.topic.as_deref()).collect();
        assert_eq!(topics, [Some("topic-0"), Some("topic-3")]);
        // Queued just before closing: still written.
        db.record_cards((1000..1300).map(card).collect());
        db.close().await.unwrap();
        let db = Db::open(dir.path()).unwrap();
        for uuid in ["card-0", "card-749", "card-1299"] {
            assert!(db.card_topic(uuid.to_owned()).await.unwrap().is_some(), "{uuid}");
        }
        let count = db
            .with(|c| c.query_row("SELECT count(*) FROM card", [], |r| r.get::<_, i64>(0)))
            .await
            .unwrap();
        assert_eq!(count, 8 * 50 + 300);
        db.close().await.unwrap();
    }
}
