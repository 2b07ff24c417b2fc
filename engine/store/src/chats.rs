//! Web chats: the chat itself (queued, taken by an agent, ended), its messages, and one customer's timeline
//! of calls and chats.
//!
//! A chat not ended at start-up belongs to a process that died: [`Store::recover_open_chats`] closes it with
//! the end reason `interrupted`.

use std::collections::BTreeSet;

use serde::Serialize;
use sqlx::Row;

use crate::{MAX_PHONES, Store, StoreError, normalize_phone, on_pool};

/// Most messages one page returns.
pub const MAX_CHAT_MESSAGES_PAGE: u32 = 1000;
/// Pages of candidate calls one timeline query reads at most (each `limit` rows).
pub const MAX_TIMELINE_SCAN_PAGES: usize = 20;
/// Most items one timeline page returns.
pub const MAX_TIMELINE_PAGE: u32 = 1000;

/// What is known when a customer opens a chat.
#[derive(Debug, Clone)]
pub struct NewChat {
    pub id: String,
    pub queue: String,
    /// The customer's phone number as given (stored normalized, see [`normalize_phone`]).
    pub customer_number: Option<String>,
    pub customer_id: Option<String>,
    pub customer_name: String,
    /// The node that serves the chat.
    pub node_id: String,
    pub started_at_ms: i64,
}

/// A chat as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChatRecord {
    pub id: String,
    pub queue: String,
    pub customer_number: Option<String>,
    pub customer_id: Option<String>,
    pub customer_name: String,
    pub node_id: String,
    pub agent: Option<String>,
    /// `queued`, `active` or `ended`
    pub status: String,
    pub end_reason: Option<String>,
    pub started_at_ms: i64,
    pub accepted_at_ms: Option<i64>,
    pub ended_at_ms: Option<i64>,
    /// number of stored messages
    pub messages: i64,
}

/// One message of a chat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChatMessage {
    pub chat_id: String,
    /// The message's number within its chat (a message written twice is kept once).
    pub seq: i64,
    /// `customer`, `agent` or `system`
    pub sender: String,
    pub agent: Option<String>,
    pub body: String,
    pub at_ms: i64,
}

/// One write to the chats, as the engine produces them while chats run.
#[derive(Debug, Clone)]
pub enum ChatWrite {
    /// A chat was opened (status `queued`).
    Open(NewChat),
    /// A message was sent; the same `(chat_id, seq)` written again is ignored.
    Message(ChatMessage),
    /// An agent took the chat (status `active`); an ended chat is left as it is.
    Accepted { id: String, agent: String, at_ms: i64 },
    /// The chat overflowed into another queue.
    Moved { id: String, queue: String },
    /// The chat ended (status `ended`); a chat already ended is left as it is.
    Ended { id: String, reason: String, at_ms: i64 },
}

/// Whose timeline to list: by phone number, by customer id, or both.
#[derive(Debug, Clone, Default)]
pub struct TimelineQuery {
    /// A phone number in any format (compared by its digits, with or without a leading `+`).
    pub number: Option<String>,
    /// A customer id; the customer's phone numbers are matched as well.
    pub customer_id: Option<String>,
    /// At most this many items (1..=[`MAX_TIMELINE_PAGE`]; 0 means 1, more means the maximum).
    pub limit: u32,
}

/// A call or a chat in a customer's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimelineItem {
    /// `call` or `chat`
    pub kind: String,
    pub id: String,
    pub started_at_ms: i64,
    pub ended_at_ms: Option<i64>,
    pub queue: Option<String>,
    pub agent: Option<String>,
    /// a call's end_reason, a chat's end_reason (or its status while open)
    pub outcome: Option<String>,
    /// The caller's number as presented, or the chat's (normalized) customer number.
    pub number: Option<String>,
    pub customer_id: Option<String>,
}

const OPEN_SQL: &str = "INSERT INTO chats (id, queue, customer_number, customer_id, customer_name, node_id, \
    status, started_at_ms) VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7)";
const MESSAGE_SQL: &str = "INSERT INTO chat_messages (chat_id, seq, sender, agent, body, at_ms) \
    VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (chat_id, seq) DO NOTHING";
const ACCEPTED_SQL: &str = "UPDATE chats SET status = 'active', agent = $1, accepted_at_ms = $2 \
    WHERE id = $3 AND status <> 'ended'";
const MOVED_SQL: &str = "UPDATE chats SET queue = $1 WHERE id = $2";
const ENDED_SQL: &str = "UPDATE chats SET status = 'ended', end_reason = $1, ended_at_ms = $2 \
    WHERE id = $3 AND status <> 'ended'";

const COLUMNS: &str = "id, queue, customer_number, customer_id, customer_name, node_id, agent, status, \
    end_reason, started_at_ms, accepted_at_ms, ended_at_ms, \
    (SELECT COUNT(*) FROM chat_messages m WHERE m.chat_id = chats.id) AS messages";
const MESSAGE_COLUMNS: &str = "chat_id, seq, sender, agent, body, at_ms";

/// The digits of a phone number without its `+`: numbers match with or without it, as in
/// [`Store::customer_by_phone`].
fn phone_digits(phone: &str) -> String {
    normalize_phone(phone).trim_start_matches('+').to_owned()
}

/// A LIKE pattern matching any text that holds these digits in this order, whatever lies between them: every
/// caller whose normalized number has exactly these digits matches it (and some others, filtered out later).
fn digits_pattern(digits: &str) -> String {
    let mut pattern = String::with_capacity(digits.len() * 2 + 1);
    pattern.push('%');
    for d in digits.chars() {
        pattern.push(d);
        pattern.push('%');
    }
    pattern
}

fn decode<R>(r: &R) -> Result<ChatRecord, StoreError>
where
    R: Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<String>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<i64>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(ChatRecord {
        id: r.try_get("id")?,
        queue: r.try_get("queue")?,
        customer_number: r.try_get("customer_number")?,
        customer_id: r.try_get("customer_id")?,
        customer_name: r.try_get("customer_name")?,
        node_id: r.try_get("node_id")?,
        agent: r.try_get("agent")?,
        status: r.try_get("status")?,
        end_reason: r.try_get("end_reason")?,
        started_at_ms: r.try_get("started_at_ms")?,
        accepted_at_ms: r.try_get("accepted_at_ms")?,
        ended_at_ms: r.try_get("ended_at_ms")?,
        messages: r.try_get("messages")?,
    })
}

fn decode_message<R>(r: &R) -> Result<ChatMessage, StoreError>
where
    R: Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<String>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(ChatMessage {
        chat_id: r.try_get("chat_id")?,
        seq: r.try_get("seq")?,
        sender: r.try_get("sender")?,
        agent: r.try_get("agent")?,
        body: r.try_get("body")?,
        at_ms: r.try_get("at_ms")?,
    })
}

/// A call row of the timeline query (`id, from_user, customer_id, started_at, ended_at, queue, agent,
/// end_reason`).
fn decode_call_item<R>(r: &R) -> Result<TimelineItem, StoreError>
where
    R: Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<String>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<i64>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(TimelineItem {
        kind: "call".to_owned(),
        id: r.try_get("id")?,
        started_at_ms: r.try_get("started_at")?,
        ended_at_ms: r.try_get("ended_at")?,
        queue: r.try_get("queue")?,
        agent: r.try_get("agent")?,
        outcome: r.try_get("end_reason")?,
        number: Some(r.try_get("from_user")?),
        customer_id: r.try_get("customer_id")?,
    })
}

impl From<ChatRecord> for TimelineItem {
    fn from(c: ChatRecord) -> Self {
        Self {
            kind: "chat".to_owned(),
            id: c.id,
            started_at_ms: c.started_at_ms,
            ended_at_ms: c.ended_at_ms,
            queue: Some(c.queue),
            agent: c.agent,
            outcome: Some(c.end_reason.unwrap_or(c.status)),
            number: c.customer_number,
            customer_id: c.customer_id,
        }
    }
}

impl Store {
    /// Applies one chat write. The number of a chat being opened is stored normalized (see
    /// [`normalize_phone`]; a number without digits is stored as none).
    pub async fn apply_chat_write(&self, w: &ChatWrite) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            match w {
                ChatWrite::Open(c) => {
                    let number = c
                        .customer_number
                        .as_deref()
                        .map(normalize_phone)
                        .filter(|n| n.chars().any(|ch| ch.is_ascii_digit()));
                    sqlx::query(OPEN_SQL)
                        .bind(&c.id)
                        .bind(&c.queue)
                        .bind(number)
                        .bind(&c.customer_id)
                        .bind(&c.customer_name)
                        .bind(&c.node_id)
                        .bind(c.started_at_ms)
                        .execute(pool)
                        .await?
                }
                ChatWrite::Message(m) => sqlx::query(MESSAGE_SQL)
                    .bind(&m.chat_id)
                    .bind(m.seq)
                    .bind(&m.sender)
                    .bind(&m.agent)
                    .bind(&m.body)
                    .bind(m.at_ms)
                    .execute(pool)
                    .await?,
                ChatWrite::Accepted { id, agent, at_ms } => sqlx::query(ACCEPTED_SQL)
                    .bind(agent)
                    .bind(*at_ms)
                    .bind(id)
                    .execute(pool)
                    .await?,
                ChatWrite::Moved { id, queue } => sqlx::query(MOVED_SQL)
                    .bind(queue)
                    .bind(id)
                    .execute(pool)
                    .await?,
                ChatWrite::Ended { id, reason, at_ms } => sqlx::query(ENDED_SQL)
                    .bind(reason)
                    .bind(*at_ms)
                    .bind(id)
                    .execute(pool)
                    .await?,
            };
        });
        Ok(())
    }

    /// One chat by id.
    pub async fn get_chat(&self, id: &str) -> Result<Option<ChatRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM chats WHERE id = $1");
        on_pool!(self, pool => {
            let row = sqlx::query(&sql).bind(id).fetch_optional(pool).await?;
            row.as_ref().map(decode).transpose()
        })
    }

    /// Messages with seq > after_seq, oldest first, at most `limit` (caller clamps to MAX_CHAT_MESSAGES_PAGE).
    ///
    /// The store clamps as well: 0 means 1, more than [`MAX_CHAT_MESSAGES_PAGE`] means the maximum.
    pub async fn chat_messages(
        &self,
        id: &str,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        let limit = i64::from(limit.clamp(1, MAX_CHAT_MESSAGES_PAGE));
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM chat_messages WHERE chat_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
        );
        on_pool!(self, pool => {
            let rows = sqlx::query(&sql).bind(id).bind(after_seq).bind(limit).fetch_all(pool).await?;
            rows.iter().map(decode_message).collect()
        })
    }

    /// Closes chats of this node that are not ended (status 'ended', end_reason 'interrupted'); returns how many.
    /// Call once at start-up, before accepting chats.
    pub async fn recover_open_chats(&self, node_id: &str, at_ms: i64) -> Result<u64, StoreError> {
        let sql = "UPDATE chats SET status = 'ended', end_reason = 'interrupted', ended_at_ms = $1 \
                   WHERE node_id = $2 AND status <> 'ended'";
        let n = on_pool!(self, pool => sqlx::query(sql)
            .bind(at_ms)
            .bind(node_id)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(n)
    }

    /// Calls and chats of one customer, newest first (by started_at_ms, then id), at most `limit`.
    ///
    /// A call matches by its caller's number or its customer id, a chat by its customer number or its
    /// customer id; numbers compare by their digits, with or without a leading `+`. With a customer id, the
    /// customer's phone numbers (`customer_phones`) match as well. With neither a number (holding digits) nor
    /// a customer id, the timeline is empty. `limit` is clamped to 1..=[`MAX_TIMELINE_PAGE`].
    pub async fn customer_timeline(&self, q: &TimelineQuery) -> Result<Vec<TimelineItem>, StoreError> {
        let customer_id = q.customer_id.as_deref().filter(|c| !c.is_empty());
        let mut numbers = BTreeSet::new();
        numbers.extend(q.number.as_deref().map(phone_digits));
        if let Some(cid) = customer_id {
            let sql = "SELECT phone FROM customer_phones WHERE customer_id = $1 ORDER BY phone LIMIT $2";
            let max = i64::try_from(MAX_PHONES).unwrap_or(i64::MAX);
            let phones = on_pool!(self, pool => {
                sqlx::query(sql)
                    .bind(cid)
                    .bind(max)
                    .fetch_all(pool)
                    .await?
                    .iter()
                    .map(|r| r.try_get::<String, _>("phone"))
                    .collect::<Result<Vec<_>, _>>()?
            });
            numbers.extend(phones.iter().map(|p| phone_digits(p)));
        }
        numbers.remove("");
        if customer_id.is_none() && numbers.is_empty() {
            return Ok(Vec::new());
        }
        let limit = q.limit.clamp(1, MAX_TIMELINE_PAGE);
        let mut items = self.timeline_calls(customer_id, &numbers, limit).await?;
        items.extend(self.timeline_chats(customer_id, &numbers, limit).await?);
        items.sort_by(|a, b| {
            b.started_at_ms
                .cmp(&a.started_at_ms)
                .then_with(|| b.id.cmp(&a.id))
        });
        items.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(items)
    }

    /// The newest calls of a customer, at most `limit`. SQL cannot normalize a caller's number portably, so
    /// this pages through the candidates (callers holding the digits in order, or the customer id), newest
    /// first, and keeps those whose normalized number is one of `numbers` (digits only).
    async fn timeline_calls(
        &self,
        customer_id: Option<&str>,
        numbers: &BTreeSet<String>,
        limit: u32,
    ) -> Result<Vec<TimelineItem>, StoreError> {
        let mut params = Vec::new();
        let mut matches = Vec::new();
        if let Some(cid) = customer_id {
            params.push(cid.to_owned());
            matches.push(format!("customer_id = ${}", params.len()));
        }
        for digits in numbers {
            params.push(digits_pattern(digits));
            matches.push(format!("from_user LIKE ${}", params.len()));
        }
        let n = params.len();
        let sql = format!(
            "SELECT id, from_user, customer_id, started_at, ended_at, queue, agent, end_reason FROM calls \
             WHERE ({}) AND (started_at < ${} OR (started_at = ${} AND id < ${})) \
             ORDER BY started_at DESC, id DESC LIMIT ${}",
            matches.join(" OR "),
            n + 1,
            n + 2,
            n + 3,
            n + 4
        );
        let page = usize::try_from(limit).unwrap_or(usize::MAX);
        let mut found = Vec::new();
        // Newest first: the first page starts after every call.
        let mut after = (i64::MAX, String::new());
        // Candidates match the digits in order with anything between; the exact test is below. A short
        // number can match many calls that are not its own: read at most this many pages of candidates.
        for _ in 0..MAX_TIMELINE_SCAN_PAGES {
            let rows = on_pool!(self, pool => {
                let mut query = sqlx::query(&sql);
                for p in &params {
                    query = query.bind(p);
                }
                query
                    .bind(after.0)
                    .bind(after.0)
                    .bind(&after.1)
                    .bind(i64::from(limit))
                    .fetch_all(pool)
                    .await?
                    .iter()
                    .map(decode_call_item)
                    .collect::<Result<Vec<_>, _>>()?
            });
            let last_page = rows.len() < page;
            if let Some(last) = rows.last() {
                after = (last.started_at_ms, last.id.clone());
            }
            for item in rows {
                let by_id = customer_id.is_some() && item.customer_id.as_deref() == customer_id;
                let by_number = item
                    .number
                    .as_deref()
                    .is_some_and(|from| numbers.contains(&phone_digits(from)));
                if by_id || by_number {
                    found.push(item);
                    if found.len() >= page {
                        return Ok(found);
                    }
                }
            }
            if last_page {
                return Ok(found);
            }
        }
        Ok(found)
    }

    /// The newest chats of a customer, at most `limit` (chat numbers are stored normalized: SQL compares them).
    async fn timeline_chats(
        &self,
        customer_id: Option<&str>,
        numbers: &BTreeSet<String>,
        limit: u32,
    ) -> Result<Vec<TimelineItem>, StoreError> {
        let mut params = Vec::new();
        let mut matches = Vec::new();
        if let Some(cid) = customer_id {
            params.push(cid.to_owned());
            matches.push(format!("customer_id = ${}", params.len()));
        }
        for digits in numbers {
            params.push(format!("+{digits}"));
            params.push(digits.clone());
            matches.push(format!(
                "customer_number = ${} OR customer_number = ${}",
                params.len() - 1,
                params.len()
            ));
        }
        let sql = format!(
            "SELECT {COLUMNS} FROM chats WHERE {} ORDER BY started_at_ms DESC, id DESC LIMIT ${}",
            matches.join(" OR "),
            params.len() + 1
        );
        let chats = on_pool!(self, pool => {
            let mut query = sqlx::query(&sql);
            for p in &params {
                query = query.bind(p);
            }
            query
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?
                .iter()
                .map(decode)
                .collect::<Result<Vec<_>, _>>()?
        });
        Ok(chats.into_iter().map(TimelineItem::from).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callers_match_by_digits() {
        assert_eq!(phone_digits("+1 (555) 123-4"), "15551234");
        assert_eq!(phone_digits("15551234"), "15551234");
        assert_eq!(digits_pattern("123"), "%1%2%3%");
    }
}
