using System.Data.Common;
using System.Text;
using Dapper;
using Npgsql;

namespace CallMedia.Data;

/// <summary>
/// One counter row, <c>auth_version</c>, raised by triggers in the very transaction that changes who may do what: a
/// user (disabled, password, scope flag, name), their roles, a role's rights, their scope numbers, a session ended,
/// deleted or moved back in time. Whatever writes the change (this node, another node, the CLI, a hand-written
/// statement) raises it, so a cache of sessions and rights checked against it is exact: an entry read at version
/// <c>v</c> is good exactly while the counter is still <c>v</c>. Sessions' routine writes (last seen, the token window)
/// do not raise it. On PostgreSQL the trigger also sends <c>NOTIFY callmedia_auth</c> (<see cref="ListenAsync"/>).
/// </summary>
public static class AuthVersion
{
    public const int Version = 12;

    public static readonly string Sql = VersionCounter.TableSql("auth_version");

    /// <summary>The one statement a request runs to know whether its cached session and rights still hold.</summary>
    public static Task<long> ReadAsync(DbConnection connection) =>
        connection.ExecuteScalarAsync<long>("SELECT v FROM auth_version WHERE id = 1");

    /// <summary>
    /// PostgreSQL only: listens for <c>callmedia_auth</c> on one connection of its own and calls <paramref name="changed"/>
    /// for every notification (once LISTEN is in place too, for what committed before it). Returns only by throwing:
    /// when the connection fails, when <paramref name="ct"/> is cancelled, or when a liveness check every
    /// <paramref name="check"/> finds the connection gone.
    /// </summary>
    public static async Task ListenAsync(Database db, Action changed, TimeSpan check, CancellationToken ct)
    {
        await using var connection = (NpgsqlConnection)await db.OpenAsync(ct);
        connection.Notification += (_, _) => changed();
        await using (var listen = new NpgsqlCommand("LISTEN callmedia_auth", connection))
        {
            await listen.ExecuteNonQueryAsync(ct);
        }

        changed();
        while (true)
        {
            if (!await connection.WaitAsync(check, ct))
            {
                await using var ping = new NpgsqlCommand("SELECT 1", connection);
                await ping.ExecuteScalarAsync(ct);
            }
        }
    }

    private static readonly string[] Tables = ["users", "roles", "role_rights", "user_roles", "user_scopes"];

    private const string SessionChanged =
        "NEW.ended_at IS DISTINCT FROM OLD.ended_at OR NEW.user_id <> OLD.user_id OR NEW.created_at <> OLD.created_at OR NEW.last_seen_at < OLD.last_seen_at";

    /// <summary>The triggers, in each engine's dialect, after <see cref="Sql"/> of migration <see cref="Version"/>.</summary>
    public static async Task AfterAsync(int version, DbKind kind, DbConnection connection, DbTransaction tx)
    {
        if (version != Version)
        {
            return;
        }

        var sql = new StringBuilder();
        VersionCounter.AppendTriggers(sql, kind, "auth", "auth_version", "callmedia_auth_changed", Tables, notify: "callmedia_auth");
        if (kind == DbKind.Sqlite)
        {
            var bump = VersionCounter.SqliteBump("auth_version");
            sql.Append($"CREATE TRIGGER tr_auth_sessions_update AFTER UPDATE ON sessions WHEN {SessionChanged.Replace("IS DISTINCT FROM", "IS NOT", StringComparison.Ordinal)} {bump}");
            sql.Append($"CREATE TRIGGER tr_auth_sessions_delete AFTER DELETE ON sessions {bump}");
        }
        else
        {
            sql.Append($"CREATE TRIGGER tr_auth_sessions_update AFTER UPDATE ON sessions FOR EACH ROW WHEN ({SessionChanged}) EXECUTE FUNCTION callmedia_auth_changed();\n");
            sql.Append("CREATE TRIGGER tr_auth_sessions_delete AFTER DELETE ON sessions FOR EACH STATEMENT EXECUTE FUNCTION callmedia_auth_changed();\n");
        }

        await connection.ExecuteAsync(sql.ToString(), transaction: tx);
    }
}
