// The reference CallMedia is measured against besides nginx: the same Kestrel, the same files, no checks at all.
// GET /file/<path under the root> answers with the framework's file result (ranges, ETag) exactly as a handler
// with nothing to check would. Usage: BareKestrel <root folder> <url>
var root = Path.GetFullPath(args[0]);
var builder = WebApplication.CreateSlimBuilder();
builder.Logging.ClearProviders();
builder.WebHost.UseUrls(args[1]);
var app = builder.Build();
app.MapGet("/healthz", () => "ok");
app.MapGet("/file/{*path}", (string path) =>
{
    var full = Path.GetFullPath(Path.Combine(root, path));
    return full.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal) && File.Exists(full)
        ? Results.File(full, "application/octet-stream", enableRangeProcessing: true)
        : Results.NotFound();
});
app.Run();
