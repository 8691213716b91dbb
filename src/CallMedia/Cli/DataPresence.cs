using CallMedia.App;
using CallMedia.Data;
using CallMedia.Hosting;
using Dapper;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace CallMedia.Cli;

/// <summary>
/// Whether there is CallMedia data where the configuration points, looked at without creating anything, so a
/// mistyped <c>--data</c> is refused instead of answered from a new empty database.
/// </summary>
public static class DataPresence
{
    /// <summary>Null when there is data; otherwise the message that says where none was found.</summary>
    public static async Task<string?> MissingAsync(IConfiguration configuration, CancellationToken ct)
    {
        var dataDir = CallMediaServices.DataFolder(configuration);
        var connectionString = configuration.GetConnectionString("CallMedia");
        using var db = string.IsNullOrWhiteSpace(connectionString) ? Database.ForDataFolder(dataDir) : Database.FromConnectionString(connectionString);
        if (db.Kind == DbKind.Sqlite)
        {
            var file = new SqliteConnectionStringBuilder(db.ConnectionString).DataSource;
            return File.Exists(file) ? null : $"no CallMedia data in {dataDir}; pass --data DIR or set CALLMEDIA_DATA";
        }

        await using var connection = await db.OpenAsync(ct);
        if (await connection.ExecuteScalarAsync<bool>("SELECT to_regclass('schema_version') IS NOT NULL"))
        {
            return null;
        }

        var target = new NpgsqlConnectionStringBuilder(db.ConnectionString);
        return $"no CallMedia data in database {target.Database} on {target.Host}; check ConnectionStrings:CallMedia, or run 'callmedia serve' or 'callmedia import' to start one";
    }
}
