// Migration 2 of the shared store: what several nodes on one tenant coordinate through
// (SERVER.md "Shared store and coordination"). Kept apart from pg_schema.cpp for size;
// PgMigrate applies it after migration 1.
namespace cdeck::core::pg_detail {

extern const char* const kMigration2;
const char* const kMigration2 = R"SQL(
-- A channel's lease: who syncs it, until when (database clock), and the fencing token that
-- every claim raises. Progress writes (delta link, subscription) name the token they were
-- made under and land only while it is still the owner's.
CREATE TABLE channel_lease (
  channel_id text PRIMARY KEY,
  team_id text NOT NULL,
  owner text,
  expires_at timestamptz NOT NULL DEFAULT '-infinity',
  fence bigint NOT NULL DEFAULT 0,
  claimed_at timestamptz,
  subscription_id text
);
CREATE INDEX channel_lease_owner ON channel_lease (owner);
-- The cluster's change-notification subscriptions: a channel's belongs to its lease
-- holder, the tenant one to the leader; written under that lease's fencing token. The
-- clientState is a shared secret of the nodes (any node may receive any notification), so
-- desks cannot read this table.
CREATE TABLE push_subscription (
  id text PRIMARY KEY,
  resource text NOT NULL UNIQUE,
  channel_id text,
  client_state text NOT NULL,
  certificate_id text NOT NULL DEFAULT '',
  expires_ms bigint NOT NULL DEFAULT 0,
  owner text NOT NULL,
  fence bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
-- Singletons (discovery, the tenant subscription, retention) run under the leader lease.
CREATE TABLE leader_lease (
  name text PRIMARY KEY,
  owner text,
  expires_at timestamptz NOT NULL DEFAULT '-infinity',
  fence bigint NOT NULL DEFAULT 0
);
-- The tenant's shared budget: one generic cell rate algorithm state per Graph throttling
-- scope, in milliseconds since the epoch on the database clock.
CREATE TABLE quota_scope (
  scope text PRIMARY KEY,
  tat_ms double precision NOT NULL DEFAULT 0,
  blocked_until_ms double precision NOT NULL DEFAULT 0,
  granted bigint NOT NULL DEFAULT 0,
  refused bigint NOT NULL DEFAULT 0,
  blocks bigint NOT NULL DEFAULT 0
);

-- Takes up to p_want[i] tokens from scope p_scopes[i], one every p_interval_ms[i], with up
-- to p_burst_ms[i] of them at once. Returns per scope what was granted and, when nothing
-- was, how long until the next token (or the end of a 429's block).
CREATE FUNCTION quota_take(p_scopes text[], p_want integer[], p_interval_ms float8[],
                           p_burst_ms float8[])
RETURNS TABLE (scope text, granted integer, wait_ms float8)
LANGUAGE plpgsql AS $$
#variable_conflict use_variable
DECLARE
  now_ms float8 := extract(epoch FROM clock_timestamp()) * 1000;
  q quota_scope;
  tat float8;
  room float8;
  k integer;
BEGIN
  INSERT INTO quota_scope AS s (scope) SELECT u FROM unnest(p_scopes) AS u
    ON CONFLICT DO NOTHING;
  -- Rows are locked in one order, so nodes taking overlapping scopes cannot deadlock.
  PERFORM 1 FROM quota_scope s WHERE s.scope = ANY (p_scopes) ORDER BY s.scope FOR UPDATE;
  FOR i IN 1 .. coalesce(array_length(p_scopes, 1), 0) LOOP
    SELECT * INTO q FROM quota_scope s WHERE s.scope = p_scopes[i];
    scope := p_scopes[i];
    IF q.blocked_until_ms > now_ms THEN
      granted := 0;
      wait_ms := q.blocked_until_ms - now_ms;
    ELSE
      tat := greatest(q.tat_ms, now_ms);
      room := now_ms + p_burst_ms[i] - tat;
      IF room < 0 THEN
        granted := 0;
        wait_ms := -room;
      ELSE
        k := least(p_want[i], floor(room / p_interval_ms[i])::integer + 1);
        granted := k;
        wait_ms := 0;
        tat := tat + k * p_interval_ms[i];
      END IF;
      UPDATE quota_scope s SET tat_ms = CASE WHEN granted > 0 THEN tat ELSE s.tat_ms END,
        granted = s.granted + granted, refused = s.refused + (granted = 0)::integer
        WHERE s.scope = p_scopes[i];
    END IF;
    RETURN NEXT;
  END LOOP;
END;
$$;

-- A 429: closes the scopes for p_ms from now (never shortening a block) and tells every
-- node at once.
CREATE FUNCTION quota_block(p_scopes text[], p_ms float8, p_node text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  until_ms float8 := extract(epoch FROM clock_timestamp()) * 1000 + p_ms;
BEGIN
  INSERT INTO quota_scope AS s (scope) SELECT u FROM unnest(p_scopes) AS u
    ON CONFLICT DO NOTHING;
  UPDATE quota_scope s SET blocked_until_ms = greatest(s.blocked_until_ms, until_ms),
    blocks = s.blocks + 1 WHERE s.scope = ANY (p_scopes);
  PERFORM pg_notify('cdeck_quota',
    json_build_object('scopes', p_scopes, 'ms', p_ms, 'node', p_node)::text);
END;
$$;

REVOKE ALL ON FUNCTION quota_take(text[], integer[], float8[], float8[]),
  quota_block(text[], float8, text) FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON channel_lease, leader_lease, quota_scope,
  push_subscription TO channeldeck_node;
GRANT EXECUTE ON FUNCTION quota_take(text[], integer[], float8[], float8[]),
  quota_block(text[], float8, text) TO channeldeck_node;
GRANT SELECT ON channel_lease, leader_lease TO channeldeck_desk;
)SQL";

}  // namespace cdeck::core::pg_detail
