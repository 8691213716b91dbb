using CallMedia.Data;
using CallMedia.Storage;
using Microsoft.Data.Sqlite;

namespace CallMedia.Import;

/// <summary>
/// Which files a manifest may name. By default only those under the manifest's own folder; <c>Import:AllowedRoots</c>
/// adds folders (and is the only source for <c>--link</c>, since the server later serves linked files from there and
/// knows nothing of manifests). The data folder — database, its journal, the media root — is refused always, even
/// inside an allowed folder. Every comparison is made on where a path really leads, symbolic links followed.
/// </summary>
public sealed class ImportConfinement
{
    private readonly string[] _allowed;
    private readonly string _allowedText;
    private readonly string _dataFolder;
    private readonly string? _database;
    private readonly string? _staging;

    private ImportConfinement(string[] allowed, string allowedText, string dataFolder, string? database, string? staging)
    {
        _allowed = allowed;
        _allowedText = allowedText;
        _dataFolder = dataFolder;
        _database = database;
        _staging = staging;
    }

    public static ImportConfinement For(string manifestPath, bool link, IReadOnlyList<string> allowedRoots, MediaRoot media, Database db)
    {
        var manifestFolder = Real(Path.GetDirectoryName(Path.GetFullPath(manifestPath))!);
        var roots = allowedRoots.Select(Real).ToList();
        if (!link)
        {
            roots.Insert(0, manifestFolder);
        }

        var text = link ? "Import:AllowedRoots" : allowedRoots.Count > 0 ? "the manifest's folder and Import:AllowedRoots" : "the manifest's folder (Import:AllowedRoots adds others)";
        string? database = null;
        if (db.Kind == DbKind.Sqlite && new SqliteConnectionStringBuilder(db.ConnectionString).DataSource is { Length: > 0 } source && source != ":memory:")
        {
            database = Real(source);
        }

        // The demo generator stages its recordings and manifest in the media root's temp folder; only that manifest may name them.
        var staging = RealPath.IsUnder(manifestFolder, Real(media.TempDir)) ? manifestFolder : null;
        return new ImportConfinement([.. roots], text, Real(media.DataFolder), database, staging);
    }

    /// <summary>Null when the file may be imported, otherwise why not.</summary>
    public string? Check(string path)
    {
        var real = RealPath.Of(path);
        if (real is null)
        {
            return $"{path} has too many levels of symbolic links";
        }

        if (_staging is not null && RealPath.IsUnder(real, _staging))
        {
            return null;
        }

        if (RealPath.IsUnder(real, _dataFolder) || (_database is not null && (real == _database || real.StartsWith(_database + "-", StringComparison.Ordinal))))
        {
            return $"{path} is in CallMedia's data folder (database or media); never imported";
        }

        if (!_allowed.Any(root => RealPath.IsUnder(real, root)))
        {
            var lexical = Path.GetFullPath(path);
            return _allowed.Any(root => RealPath.IsUnder(lexical, root))
                ? $"{path} links outside {_allowedText}"
                : $"{path} is outside {_allowedText}";
        }

        return null;
    }

    private static string Real(string path) => RealPath.Of(path) ?? Path.GetFullPath(path);
}
