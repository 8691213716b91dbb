using Dapper;

namespace CallMedia.Data;

/// <summary>
/// Versioned schema changes, applied in order at start. Each migration runs in its own transaction and is
/// recorded in <c>schema_version</c>; a migration once released is never edited, only followed by another.
/// </summary>
public static class Migrations
{
    /// <summary>
    /// {id} stands for the engine's auto-numbered key column; a line starting <c>-- postgres: </c> runs on PostgreSQL
    /// only (elsewhere it stays a comment).
    /// </summary>
    private static readonly (int Version, string Sql)[] All =
    [
        (1, """
            CREATE TABLE users (
                id {id},
                name TEXT NOT NULL UNIQUE,
                password_hash TEXT NOT NULL,
                scope_all BIGINT NOT NULL DEFAULT 1,
                disabled BIGINT NOT NULL DEFAULT 0,
                created_at BIGINT NOT NULL
            );
            CREATE TABLE roles (
                name TEXT NOT NULL PRIMARY KEY,
                builtin BIGINT NOT NULL DEFAULT 0
            );
            CREATE TABLE role_rights (
                role TEXT NOT NULL REFERENCES roles(name) ON DELETE CASCADE,
                right_name TEXT NOT NULL,
                PRIMARY KEY (role, right_name)
            );
            CREATE TABLE user_roles (
                user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                role TEXT NOT NULL REFERENCES roles(name) ON DELETE CASCADE,
                PRIMARY KEY (user_id, role)
            );
            CREATE TABLE user_scopes (
                user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                number TEXT NOT NULL,
                PRIMARY KEY (user_id, number)
            );
            CREATE TABLE sessions (
                id_hash TEXT NOT NULL PRIMARY KEY,
                user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                client TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                last_seen_at BIGINT NOT NULL,
                ended_at BIGINT NULL
            );
            CREATE INDEX ix_sessions_user ON sessions(user_id);
            CREATE TABLE tokens (
                hash TEXT NOT NULL PRIMARY KEY,
                session_hash TEXT NOT NULL,
                user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                couple_ids TEXT NOT NULL,
                media_type BIGINT NOT NULL,
                action TEXT NOT NULL,
                issued_at BIGINT NOT NULL,
                expires_at BIGINT NOT NULL,
                redeemed_at BIGINT NULL,
                lease_until BIGINT NULL,
                revoked BIGINT NOT NULL DEFAULT 0
            );
            CREATE INDEX ix_tokens_session ON tokens(session_hash);
            CREATE TABLE couples (
                id {id},
                sid TEXT NOT NULL UNIQUE,
                call_id TEXT NULL,
                start_at BIGINT NOT NULL,
                stop_at BIGINT NOT NULL,
                calling_number TEXT NOT NULL,
                calling_name TEXT NOT NULL DEFAULT '',
                called_number TEXT NOT NULL,
                called_name TEXT NOT NULL DEFAULT '',
                types BIGINT NOT NULL DEFAULT 0
            );
            CREATE INDEX ix_couples_start ON couples(start_at);
            CREATE INDEX ix_couples_calling ON couples(calling_number);
            CREATE INDEX ix_couples_called ON couples(called_number);
            CREATE TABLE media_files (
                id {id},
                couple_id BIGINT NOT NULL REFERENCES couples(id) ON DELETE CASCADE,
                type BIGINT NOT NULL,
                path TEXT NOT NULL,
                format TEXT NOT NULL,
                size BIGINT NOT NULL,
                crc32 BIGINT NOT NULL,
                start_at BIGINT NOT NULL,
                stop_at BIGINT NOT NULL
            );
            CREATE INDEX ix_media_files_couple ON media_files(couple_id);
            CREATE TABLE jobs (
                id {id},
                kind TEXT NOT NULL,
                couple_id BIGINT NOT NULL REFERENCES couples(id) ON DELETE CASCADE,
                state TEXT NOT NULL,
                progress BIGINT NOT NULL DEFAULT 0,
                owner TEXT NULL,
                lease_until BIGINT NULL,
                error TEXT NULL,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            );
            CREATE INDEX ix_jobs_state ON jobs(state);
            CREATE TABLE audit (
                seq {id},
                at BIGINT NOT NULL,
                user_name TEXT NULL,
                client TEXT NULL,
                action TEXT NOT NULL,
                couple_ids TEXT NULL,
                bytes BIGINT NULL,
                outcome TEXT NOT NULL,
                prev_hash TEXT NOT NULL,
                hash TEXT NOT NULL
            );
            INSERT INTO roles (name, builtin) VALUES ('listener', 1), ('downloader', 1), ('supervisor', 1), ('admin', 1);
            INSERT INTO role_rights (role, right_name) VALUES
                ('listener', 'audio.stream'), ('listener', 'video.stream'),
                ('downloader', 'audio.stream'), ('downloader', 'video.stream'),
                ('downloader', 'audio.download'), ('downloader', 'video.download'),
                ('supervisor', 'audio.stream'), ('supervisor', 'video.stream'),
                ('supervisor', 'audio.download'), ('supervisor', 'video.download'), ('supervisor', 'video.prepare'),
                ('admin', 'audio.stream'), ('admin', 'video.stream'), ('admin', 'audio.download'),
                ('admin', 'video.download'), ('admin', 'video.prepare'), ('admin', 'admin');
            """),
        (2, """
            ALTER TABLE media_files ADD COLUMN source_path TEXT NULL;
            ALTER TABLE media_files ADD COLUMN source_mtime BIGINT NULL;
            CREATE INDEX ix_media_files_source ON media_files(couple_id, source_path);
            """),
        (3, """
            CREATE TABLE login_failures (
                throttle_key TEXT NOT NULL PRIMARY KEY,
                failures BIGINT NOT NULL,
                last_failure BIGINT NOT NULL
            );
            CREATE INDEX ix_tokens_session_issued ON tokens(session_hash, issued_at);
            """),
        (4, """
            CREATE UNIQUE INDEX ux_jobs_active ON jobs(couple_id, kind) WHERE state IN ('queued', 'running');
            """),
        (5, """
            ALTER TABLE sessions ADD COLUMN token_window_start BIGINT NOT NULL DEFAULT 0;
            ALTER TABLE sessions ADD COLUMN token_window_count BIGINT NOT NULL DEFAULT 0;
            """),
        (6, SearchMigration.Sql),
        (7, """
            ALTER TABLE audit ADD COLUMN chain_seq BIGINT NULL;
            ALTER TABLE audit ADD COLUMN in_progress BIGINT NOT NULL DEFAULT 0;
            UPDATE audit SET chain_seq = seq;
            CREATE UNIQUE INDEX ux_audit_chain_seq ON audit(chain_seq);
            CREATE INDEX ix_audit_unchained ON audit(seq) WHERE chain_seq IS NULL;
            """),
        (8, """
            ALTER TABLE audit ADD COLUMN reason TEXT NULL;
            INSERT INTO roles (name, builtin) VALUES ('auditor', 1);
            INSERT INTO role_rights (role, right_name) VALUES
                ('auditor', 'audio.stream'), ('auditor', 'video.stream'), ('auditor', 'audit'), ('admin', 'audit');
            """),
        (9, """
            ALTER TABLE tokens ADD COLUMN options TEXT NULL;
            """),
        (SearchMigration.BytewiseVersion, SearchMigration.BytewiseSql),
        (11, """
            ALTER TABLE couples ADD COLUMN purged_types BIGINT NOT NULL DEFAULT 0;
            ALTER TABLE couples ADD COLUMN purged_at BIGINT NULL;
            CREATE TABLE retention_policies (
                id {id},
                name TEXT NOT NULL UNIQUE,
                media TEXT NOT NULL,
                numbers TEXT NOT NULL DEFAULT '',
                keep TEXT NOT NULL,
                created_by TEXT NOT NULL,
                created_at BIGINT NOT NULL
            );
            CREATE TABLE legal_holds (
                id {id},
                couple_id BIGINT NULL,
                sid TEXT NULL,
                number TEXT NULL,
                from_at BIGINT NULL,
                to_at BIGINT NULL,
                reason TEXT NOT NULL,
                placed_by TEXT NOT NULL,
                placed_at BIGINT NOT NULL,
                released_at BIGINT NULL,
                released_by TEXT NULL,
                release_reason TEXT NULL
            );
            CREATE TABLE purge_queue (
                id {id},
                couple_id BIGINT NOT NULL,
                path TEXT NOT NULL,
                queued_at BIGINT NOT NULL
            );
            CREATE TABLE leases (
                name TEXT NOT NULL PRIMARY KEY,
                owner TEXT NULL,
                lease_until BIGINT NOT NULL DEFAULT 0
            );
            INSERT INTO leases (name, owner, lease_until) VALUES ('retention', NULL, 0);
            """),
        (AuthVersion.Version, AuthVersion.Sql),
        // ix_tokens_session is the first column of ix_tokens_session_issued: one index less to write per token issued.
        // PostgreSQL fills token pages half (pages filled from now on; older tokens are purged within their lifetime),
        // so a redemption's UPDATE (of columns no index covers) finds room on its row's page and writes no index entry
        // (a heap-only update) instead of a new row version in every index. Only the tokens table is locked here.
        (13, """
            DROP INDEX IF EXISTS ix_tokens_session;
            -- postgres: ALTER TABLE tokens SET (fillfactor = 50);
            """),

        // The chainer finds closed unchained records by seq and open ones by time, each in an index of its own: the
        // one index of both (by seq) made it walk every transfer under way and, on PostgreSQL, the entries their
        // closing UPDATEs left behind until a vacuum. Only the audit table is locked here: a migration of its own, so it
        // never holds one of the two tables while waiting for the other, which a node of the previous version still
        // running may hold in the opposite order.
        (14, """
            CREATE INDEX ix_audit_unchained_closed ON audit(seq) WHERE chain_seq IS NULL AND in_progress = 0;
            CREATE INDEX ix_audit_unchained_open ON audit(at) WHERE chain_seq IS NULL AND in_progress = 1;
            DROP INDEX IF EXISTS ix_audit_unchained;
            """),
        (MediaVersion.Version, MediaVersion.Sql),

        // A record waits for its place in the chain with no entry in the chain's index: every transfer's record is
        // written open (unchained) and chained as it closes, and an index of every row wrote an entry for the open one
        // and moved it when it was chained (two index writes per transfer instead of one). Every query by chain_seq
        // asks for chained rows (chain_seq IS NOT NULL, or a comparison with it). The old index goes first: on
        // PostgreSQL that takes the audit table whole at once, so a node of the previous version writing records waits
        // for the migration instead of holding a read of the table the new index's build would have to wait out
        // (uniqueness still holds: nobody else writes the table before the transaction ends). Only the audit table is
        // locked, for one pass over it (docs/deployment.md).
        (16, """
            DROP INDEX IF EXISTS ux_audit_chain_seq;
            CREATE UNIQUE INDEX ux_audit_chained ON audit(chain_seq) WHERE chain_seq IS NOT NULL;
            """),
    ];

    public static int LatestVersion => All[^1].Version;

    /// <summary>A migration's text for <paramref name="db"/>'s engine.</summary>
    private static string ForEngine(string sql, Database db)
    {
        const string PostgresOnly = "-- postgres: ";
        var text = sql.Replace("{id}", db.IdentityColumn, StringComparison.Ordinal);
        return db.Kind == DbKind.Postgres ? text.Replace(PostgresOnly, "", StringComparison.Ordinal) : text;
    }

    /// <summary>Brings the schema to the latest version; returns how many migrations ran.</summary>
    /// <summary>Any number; the advisory lock that lets one of several nodes starting at once migrate, the others wait.</summary>
    private const long MigrationLock = 0x43_61_6c_6c_4d_65_64;

    public static async Task<int> ApplyAsync(Database db, TimeProvider clock, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        if (db.Kind == DbKind.Sqlite)
        {
            await connection.ExecuteAsync("PRAGMA journal_mode=WAL;");
        }
        else
        {
            await connection.ExecuteAsync("SELECT pg_advisory_lock(@MigrationLock)", new { MigrationLock });
        }

        try
        {
            return await ApplyLockedAsync(db, connection, clock, ct);
        }
        finally
        {
            if (db.Kind == DbKind.Postgres)
            {
                await connection.ExecuteAsync("SELECT pg_advisory_unlock(@MigrationLock)", new { MigrationLock });
            }
        }
    }

    private static async Task<int> ApplyLockedAsync(Database db, System.Data.Common.DbConnection connection, TimeProvider clock, CancellationToken ct)
    {
        await connection.ExecuteAsync(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL PRIMARY KEY, applied_at BIGINT NOT NULL)");
        var applied = 0;
        foreach (var (version, sql) in All)
        {
            await using var tx = await connection.BeginTransactionAsync(ct);
            var done = await connection.ExecuteScalarAsync<long>(
                "SELECT COUNT(*) FROM schema_version WHERE version = @version", new { version }, tx);
            if (done > 0)
            {
                await tx.RollbackAsync(ct);
                continue;
            }

            await connection.ExecuteAsync(ForEngine(sql, db), transaction: tx);
            await SearchMigration.AfterAsync(version, connection, tx, ct);
            await AuthVersion.AfterAsync(version, db.Kind, connection, tx);
            await MediaVersion.AfterAsync(version, db.Kind, connection, tx);
            await connection.ExecuteAsync(
                "INSERT INTO schema_version (version, applied_at) VALUES (@version, @at)",
                new { version, at = clock.GetUtcNow().ToUnixTimeMilliseconds() },
                tx);
            await tx.CommitAsync(ct);
            applied++;
        }

        return applied;
    }
}
