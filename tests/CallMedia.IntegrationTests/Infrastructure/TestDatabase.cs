using CallMedia.App;
using CallMedia.Data;
using Npgsql;

namespace CallMedia.IntegrationTests.Infrastructure;

/// <summary>
/// The database every integration test runs on: SQLite by default, PostgreSQL when CALLMEDIA_TEST_DATABASE=postgres
/// (scripts/test.sh runs the whole suite once on each). On PostgreSQL every server gets a fresh database copied from
/// a template that holds the demo data, next to its own copy of the demo media.
/// </summary>
public static class TestDatabase
{
    private static readonly Lazy<Task<(string Folder, string? Template)>> Template = new(CreateTemplateAsync);

    public static bool IsPostgres => Environment.GetEnvironmentVariable("CALLMEDIA_TEST_DATABASE") == "postgres";

    private static string AdminConnectionString =>
        Environment.GetEnvironmentVariable("CALLMEDIA_TEST_POSTGRES")
        ?? throw new InvalidOperationException("CALLMEDIA_TEST_POSTGRES is not set (scripts/test.sh starts a cluster)");

    /// <summary>A fresh data folder with the demo recordings, and the configuration arguments that point at its database.</summary>
    public static async Task<(string DataDir, string[] Args)> NewAsync()
    {
        var (folder, template) = await Template.Value;
        var dataDir = Path.Combine(Path.GetTempPath(), "callmedia-test-" + Guid.NewGuid().ToString("N"));
        DemoTemplate.CopyDirectory(folder, dataDir);
        var storage = await TestStorage.NewAsync(dataDir);
        if (template is null)
        {
            return (dataDir, [$"--{CallMediaServices.DataKey}={dataDir}", .. storage]);
        }

        var name = "cm_" + Guid.NewGuid().ToString("N");
        await AdminAsync($"CREATE DATABASE {name} TEMPLATE {template}");
        return (dataDir, [$"--{CallMediaServices.DataKey}={dataDir}", $"--ConnectionStrings:CallMedia={ConnectionString(name)}", .. storage]);
    }

    /// <summary>An empty data folder and an empty database: no schema, no demo data.</summary>
    public static async Task<(string DataDir, string[] Args)> NewEmptyAsync()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "callmedia-empty-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dataDir);
        var storage = await TestStorage.NewAsync(dataDir);
        if (!IsPostgres)
        {
            return (dataDir, [$"--{CallMediaServices.DataKey}={dataDir}", .. storage]);
        }

        var name = "cm_" + Guid.NewGuid().ToString("N");
        await AdminAsync($"CREATE DATABASE {name}");
        return (dataDir, [$"--{CallMediaServices.DataKey}={dataDir}", $"--ConnectionStrings:CallMedia={ConnectionString(name)}", .. storage]);
    }

    /// <summary>Opens the database that configuration arguments from <see cref="NewAsync"/> name.</summary>
    public static Database Open(string[] args)
    {
        var connection = args.FirstOrDefault(a => a.StartsWith("--ConnectionStrings:CallMedia=", StringComparison.Ordinal));
        return connection is null
            ? Database.ForDataFolder(args[0][(args[0].IndexOf('=', StringComparison.Ordinal) + 1)..])
            : Database.FromConnectionString(connection[(connection.IndexOf('=', StringComparison.Ordinal) + 1)..]);
    }

    public static async Task DropAsync(string[] args)
    {
        await TestStorage.DropAsync(args);
        var connection = args.FirstOrDefault(a => a.StartsWith("--ConnectionStrings:CallMedia=", StringComparison.Ordinal));
        if (connection is not null)
        {
            var name = new NpgsqlConnectionStringBuilder(connection[(connection.IndexOf('=', StringComparison.Ordinal) + 1)..]).Database;
            NpgsqlConnection.ClearAllPools();
            await AdminAsync($"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        }
    }

    private static string ConnectionString(string database) =>
        new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = database }.ConnectionString;

    private static async Task<(string Folder, string? Template)> CreateTemplateAsync()
    {
        if (!IsPostgres)
        {
            return (await DemoTemplate.GetAsync(), null);
        }

        var name = "cm_template_" + Guid.NewGuid().ToString("N");
        await AdminAsync($"CREATE DATABASE {name}");
        var folder = Path.Combine(Path.GetTempPath(), "callmedia-pgtemplate-" + Guid.NewGuid().ToString("N"));
        await using (var app = ServerHost.Build([$"--{CallMediaServices.DataKey}={folder}", $"--ConnectionStrings:CallMedia={ConnectionString(name)}", "--urls=http://127.0.0.1:0"]))
        {
            await ServerHost.PrepareAsync(app, demo: true);
        }

        NpgsqlConnection.ClearAllPools();
        return (folder, name);
    }

    private static async Task AdminAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
