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

    /// <summary>The steps SQL cannot say the same way on both engines: folding names and drawing a random key.</summary>
    public static async Task AfterAsync(int version, DbConnection connection, DbTransaction tx, CancellationToken ct)
    {
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
