//! The agent's desk: what the workstation shows about a call that rings the agent's phone (the caller panel).

use serde_json::json;

/// Previous interactions shown in a caller panel.
pub(crate) const PANEL_HISTORY: u32 = 5;

/// The caller panel of `call`, as a `call_panel` frame: the number and where it is from, the verification
/// result, the keypress trail, the queue, notes, and the customer's previous calls and chats. A call whose
/// record cannot be read gives a panel with only its id (the workstation shows the number as unknown).
pub(crate) async fn call_panel(
    store: &store::Store,
    regions: &api::Regions,
    call: &str,
) -> serde_json::Value {
    let record = match store.get_call(call).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(%call, error = %e, "caller panel: the call record cannot be read");
            None
        }
    };
    let Some(r) = record else {
        return json!({"type": "call_panel", "call": call});
    };
    let query = store::TimelineQuery {
        number: Some(r.from_user.clone()).filter(|n| !n.is_empty()),
        customer_id: r.customer_id.clone(),
        limit: PANEL_HISTORY + 1,
    };
    let previous: Vec<store::TimelineItem> = if query.number.is_some() || query.customer_id.is_some() {
        match store.customer_timeline(&query).await {
            Ok(items) => items
                .into_iter()
                .filter(|i| i.id != r.id)
                .take(PANEL_HISTORY as usize)
                .collect(),
            Err(e) => {
                tracing::warn!(%call, error = %e, "caller panel: no timeline");
                Vec::new()
            }
        }
    } else {
        Vec::new()
    };
    let verification = r.verified.map(
        |verified| json!({"verified": verified, "method": r.verify_method, "customer_id": r.customer_id}),
    );
    json!({
        "type": "call_panel",
        "call": r.id,
        "number": r.from_user,
        "region": regions.lookup(&r.from_user),
        "verification": verification,
        "keypresses": r.keypresses,
        "trail": r.trail,
        "queue": r.queue,
        "started_at_ms": r.started_at_ms,
        "notes": r.notes,
        "previous": previous,
    })
}
