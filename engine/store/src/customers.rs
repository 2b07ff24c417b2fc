//! Customers for identity verification against the database.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::{Store, StoreError, on_pool};

/// A customer as identity verification sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub phones: Vec<String>,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

/// Most phone numbers kept per customer.
pub const MAX_PHONES: usize = 16;

impl Store {
    /// Creates or replaces a customer and their phone numbers.
    pub async fn upsert_customer(&self, c: &Customer) -> Result<(), StoreError> {
        let attrs = serde_json::to_string(&c.attributes).unwrap_or_else(|_| "{}".to_owned());
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO customers (id, name, attributes) VALUES ($1, $2, $3) \
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, attributes = excluded.attributes",
            )
            .bind(&c.id)
            .bind(&c.name)
            .bind(&attrs)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM customer_phones WHERE customer_id = $1").bind(&c.id).execute(&mut *tx).await?;
            for phone in c.phones.iter().take(MAX_PHONES) {
                sqlx::query("INSERT INTO customer_phones (phone, customer_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(normalize_phone(phone))
                    .bind(&c.id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// A customer by id.
    pub async fn customer_by_id(&self, id: &str) -> Result<Option<Customer>, StoreError> {
        let row = on_pool!(self, pool => {
            match sqlx::query("SELECT id, name, attributes FROM customers WHERE id = $1").bind(id).fetch_optional(pool).await? {
                Some(r) => Some((r.try_get::<String, _>("id")?, r.try_get::<String, _>("name")?, r.try_get::<String, _>("attributes")?)),
                None => None,
            }
        });
        let Some((id, name, attrs)) = row else {
            return Ok(None);
        };
        let phones = on_pool!(self, pool => {
            sqlx::query("SELECT phone FROM customer_phones WHERE customer_id = $1 ORDER BY phone")
                .bind(&id)
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| r.try_get::<String, _>("phone"))
                .collect::<Result<Vec<_>, _>>()?
        });
        let attributes = serde_json::from_str(&attrs).map_err(|source| StoreError::Corrupt {
            column: "attributes",
            source,
        })?;
        Ok(Some(Customer {
            id,
            name,
            phones,
            attributes,
        }))
    }

    /// The customer a phone number belongs to (the first by id if several share it).
    pub async fn customer_by_phone(&self, phone: &str) -> Result<Option<Customer>, StoreError> {
        let id = on_pool!(self, pool => {
            // A keyed number has no `+`: match the stored number with or without it.
            let digits = normalize_phone(phone).trim_start_matches('+').to_owned();
            match sqlx::query(
                "SELECT customer_id FROM customer_phones WHERE phone = $1 OR phone = $2 ORDER BY customer_id LIMIT 1",
            )
                .bind(format!("+{digits}"))
                .bind(digits)
                .fetch_optional(pool)
                .await?
            {
                Some(r) => Some(r.try_get::<String, _>("customer_id")?),
                None => None,
            }
        });
        match id {
            Some(id) => self.customer_by_id(&id).await,
            None => Ok(None),
        }
    }
}

/// Phone numbers are compared by their digits (and a leading `+`): `+1 (555) 123-0001` = `+15551230001`.
pub fn normalize_phone(phone: &str) -> String {
    let trimmed = phone.trim();
    let plus = if trimmed.starts_with('+') { "+" } else { "" };
    let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
    format!("{plus}{digits}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_compare_by_digits() {
        assert_eq!(normalize_phone(" +1 (555) 123-0001 "), "+15551230001");
        assert_eq!(normalize_phone("030 1234"), "0301234");
    }
}
