// Package zendesksim is an in-process simulator of the Zendesk Audit Logs
// API (GET /api/v2/audit_logs, GET /api/v2/audit_logs/{id},
// POST /api/v2/audit_logs/export). It is the server side used by the
// receiver's tests, demo and benchmarks, and deliberately imports nothing
// else from this module.
//
// # Behaviour
//
//   - Authentication: API token (Basic base64(email+"/token:"+token)) or
//     OAuth (Bearer token). With no credentials configured every API request
//     is rejected with 401.
//   - OAuth client credentials: POST /oauth/tokens takes a JSON body
//     {"grant_type":"client_credentials","client_id":...,"client_secret":...,
//     "scope":"auditlogs:read","expires_in":N} (a form body gets 400
//     invalid_request; a wrong client or secret 401 invalid_client; a scope
//     the client may not ask for 400 invalid_scope) and answers
//     {"access_token":...,"token_type":"bearer","scope":...,"expires_in":N}.
//     A refresh_token grant (for a refresh token from IssueRefreshToken or
//     an earlier refresh) answers with a new pair, refresh_token included,
//     and invalidates the old pair; an unknown or used one gets 400
//     invalid_grant.
//     An issued token past its expiry, or revoked, gets 401
//     {"error":"invalid_token"}. Faults apply to the token endpoint too.
//   - Cursor pagination is used when page[size], page[after] or page[before]
//     is present (page[size] defaults to 100). Cursors are keyset positions
//     (created_at second, per-chain tie key, id): records sharing a second
//     are ordered by a hash of a random per-chain salt and the id, so their
//     order differs between separate queries but is stable along one chain.
//   - Offset pagination (no page[...] cursor parameter) orders records that
//     share a second by a server-wide salt drawn once at New, so its order is
//     stable but not id order.
//   - meta.after_cursor / meta.before_cursor are set whenever the page is not
//     empty (so a caller can resume a finished chain later); links.next is
//     null when there is nothing more in the forward direction and
//     links.prev is null on a first page or when nothing lies before.
//   - Faults are drawn per authenticated API request; see [Faults].
//   - Schema drift: with Options.MistypedFraction, that share of the
//     generated records carries one field of an unexpected JSON type
//     ("actor_id":"system", "source_id":"n/a", "action":[...],
//     "ip_address":{...}, in turn; see [MistypedKinds]).
//   - A request whose context ends while a slow fault delays it is recorded
//     in Stats.ByStatus under 499.
//
// # Admin endpoints
//
// Admin endpoints need no authentication and are not counted in [Stats]:
//
//	GET  /_sim/stats   Stats as JSON: {"requests":N,"by_status":{"200":N,...},
//	                   "retry_after_violations":N,"retry_after_crossings":N,
//	                   "peak_in_flight":N,"oversize_page_requests":N,
//	                   "list_requests":N,"show_requests":N,"export_requests":N,
//	                   "records_served":N,"token_requests":N,
//	                   "token_by_status":{...},"tokens_issued":N,
//	                   "expired_token_requests":N,"revoked_token_requests":N,
//	                   "max_refusals_per_token":N}
//	GET  /_sim/ids     JSON array of all record ids, ascending.
//	GET  /_sim/faults  current Faults as JSON (same format as POST).
//	POST /_sim/faults  replaces the Faults with the JSON body
//	                   {"p429":0.1,"p429_no_retry_after":0,"retry_after":"2s",
//	                    "p503_html":0,"p500":0,"p_truncated":0,"p_slow":0,
//	                    "slow_delay":"500ms","latency":"300ms",
//	                    "budget_per_minute":0}
//	                   Durations are Go duration strings ("1.5s") or JSON
//	                   numbers meaning seconds. Absent fields are zero.
//	                   Answers with the new Faults.
//	POST /_sim/oauth   {"token_lifetime":"3s","revoke":true,"down":503}: the
//	                   lifetime of the tokens issued from now on; revoke
//	                   every token issued so far; make the token endpoint
//	                   answer that status (0: up again). Absent fields
//	                   change nothing.
//	POST /_sim/live?rate=R[&late_fraction=F][&max_late=D]
//	                   sets the live arrival rate (records/s); rate=0 stops
//	                   live arrivals. When no live loop runs, one is started
//	                   that lives until rate=0 or StopLive. late_fraction and
//	                   max_late (Go duration) default to the running loop's
//	                   values, or 0.1 and 5s. Answers
//	                   {"rate":R,"late_fraction":F,"max_late":"5s"}.
package zendesksim
