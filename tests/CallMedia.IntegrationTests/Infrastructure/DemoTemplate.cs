using CallMedia.App;
using Microsoft.Data.Sqlite;

namespace CallMedia.IntegrationTests.Infrastructure;

/// <summary>
/// The demo data folder (database + generated media), made once per test run with real ffmpeg through the same
/// start-up path as <c>callmedia serve</c>, then copied for every server a test starts.
/// </summary>
public static class DemoTemplate
{
    private static readonly Lazy<Task<string>> Folder = new(CreateAsync);

    public static Task<string> GetAsync() => Folder.Value;

    /// <summary>A fresh copy of the demo data folder under a new temp directory.</summary>
    public static async Task<string> CopyAsync()
    {
        var template = await GetAsync();
        var target = Path.Combine(Path.GetTempPath(), "callmedia-test-" + Guid.NewGuid().ToString("N"));
        CopyDirectory(template, target);
        return target;
    }

    private static async Task<string> CreateAsync()
    {
        var folder = Path.Combine(Path.GetTempPath(), "callmedia-template-" + Guid.NewGuid().ToString("N"));
        await using (var app = ServerHost.Build([$"--{CallMediaServices.DataKey}={folder}", "--urls=http://127.0.0.1:0"]))
        {
            await ServerHost.PrepareAsync(app, demo: true);
        }

        // Close pooled connections so the database file is complete (WAL checkpointed) before it is copied.
        SqliteConnection.ClearAllPools();
        return folder;
    }

    public static void CopyDirectory(string source, string target)
    {
        Directory.CreateDirectory(target);
        foreach (var dir in Directory.EnumerateDirectories(source, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(Path.Combine(target, Path.GetRelativePath(source, dir)));
        }

        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            File.Copy(file, Path.Combine(target, Path.GetRelativePath(source, file)));
        }
    }
}
