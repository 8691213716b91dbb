using System.ComponentModel.DataAnnotations;

namespace CallMedia.Import;

/// <summary><c>Import:*</c> — <c>callmedia import</c>.</summary>
public sealed class ImportOptions
{
    public const string Section = "Import";

    /// <summary>Folders a manifest may name files in, besides its own folder; the only ones for <c>--link</c>.</summary>
    public IReadOnlyList<string> AllowedRoots { get; set; } = [];

    /// <summary>Couples stored per transaction: an interrupted import loses at most one batch, which a re-run redoes.</summary>
    [Range(1, 100_000)]
    public int BatchSize { get; set; } = 256;
}
