using System.Data.Common;
using System.Text;
using Dapper;

namespace CallMedia.Data;

/// <summary>
/// One counter row, <c>media_version</c>, raised by triggers in the very transaction that changes a couple or its media
/// files (an import, a prepared video, a purge, a storage migration, a hand-written statement: whoever writes it, on
/// whichever node or process). A copy of couples and their files read at version <c>v</c>, read after <c>v</c> was,
/// is exact while the counter is still <c>v</c>: the group commit reads the counter once per group, in its own
/// transaction, and reads again only the couples whose copy is older (<see cref="Calls.CallStore.CouplesWithFiles"/>).
/// </summary>
public static class MediaVersion
{
    public const int Version = 15;

    public static readonly string Sql = VersionCounter.TableSql("media_version");

    /// <summary>The counter, as a statement of a pipeline (its one row, one column).</summary>
    public static readonly Statement Read = new("SELECT v FROM media_version WHERE id = 1");

    private static readonly string[] Tables = ["couples", "media_files"];

    /// <summary>The triggers, in each engine's dialect, after <see cref="Sql"/> of migration <see cref="Version"/>.</summary>
    public static async Task AfterAsync(int version, DbKind kind, DbConnection connection, DbTransaction tx)
    {
        if (version != Version)
        {
            return;
        }

        var sql = new StringBuilder();
        VersionCounter.AppendTriggers(sql, kind, "media", "media_version", "callmedia_media_changed", Tables, early: true);
        await connection.ExecuteAsync(sql.ToString(), transaction: tx);
    }
}
