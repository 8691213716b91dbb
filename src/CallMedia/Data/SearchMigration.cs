using System.Data.Common;
using System.Security.Cryptography;
using Dapper;

namespace CallMedia.Data;

/// <summary>
/// Migration 6, for call search: folded name columns (filled here for existing rows, see <see cref="NameFolding"/>),
/// the indexes that keep every search an index range in newest-first order, and the key that signs search cursors
/// (in the database, so every node and every restart accepts the same cursors).
/// </summary>
internal static class SearchMigration
{
    public const int Version = 6;

    public const string CursorKeyName = "search-cursor";

    public const string Sql = """
        ALTER TABLE couples ADD COLUMN calling_name_folded TEXT NULL;
        ALTER TABLE couples ADD COLUMN called_name_folded TEXT NULL;
        DROP INDEX ix_couples_start;
        DROP INDEX ix_couples_calling;
        DROP INDEX ix_couples_called;
        CREATE INDEX ix_couples_start_id ON couples(start_at, id);
        CREATE INDEX ix_couples_calling_start ON couples(calling_number, start_at, id);
        CREATE INDEX ix_couples_called_start ON couples(called_number, start_at, id);
        CREATE INDEX ix_couples_calling_name ON couples(calling_name_folded, start_at, id);
        CREATE INDEX ix_couples_called_name ON couples(called_name_folded, start_at, id);
        CREATE INDEX ix_couples_unfolded ON couples(id) WHERE calling_name_folded IS NULL;
        CREATE TABLE server_keys (
            name TEXT NOT NULL PRIMARY KEY,
            key_value TEXT NOT NULL
        );
        """;

    /// <summary>
    /// Migration 10: on PostgreSQL, the party columns a prefix search ranges over compare bytewise (<c>COLLATE "C"</c>,
    /// as SQLite's BINARY does), so [prefix, next prefix) is exactly the values that start with the prefix and the
    /// planner estimates the range as it is. The indexes on them are rebuilt; equality is unchanged. Nothing to do on SQLite.
    /// </summary>
    public const int BytewiseVersion = 10;

    public const string BytewiseSql = "-- PostgreSQL only: see SearchMigration.AfterAsync";

    private const string BytewiseColumns = """
        ALTER TABLE couples
            ALTER COLUMN calling_number TYPE TEXT COLLATE "C",
            ALTER COLUMN called_number TYPE TEXT COLLATE "C",
            ALTER COLUMN calling_name_folded TYPE TEXT COLLATE "C",
            ALTER COLUMN called_name_folded TYPE TEXT COLLATE "C"
        """;

    /// <summary>The steps SQL cannot say the same way on both engines: folding names and drawing a random key.</summary>
    public static async Task AfterAsync(int version, DbConnection connection, DbTransaction tx, CancellationToken ct)
    {
        if (version == BytewiseVersion && connection is Npgsql.NpgsqlConnection)
        {
            await connection.ExecuteAsync(BytewiseColumns, transaction: tx);
            return;
        }

        if (version != Version)
        {
            return;
        }

        await NameFolding.FoldPendingAsync(connection, tx, ct);
        await connection.ExecuteAsync(
            "INSERT INTO server_keys (name, key_value) VALUES (@name, @key)",
            new { name = CursorKeyName, key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) },
            tx);
    }
}
