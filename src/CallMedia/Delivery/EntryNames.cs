using System.Globalization;
using System.Text;

namespace CallMedia.Delivery;

/// <summary>
/// File names of delivered media: <c>&lt;couple id&gt;_&lt;sid&gt;.&lt;ext&gt;</c>, with <c>_&lt;n&gt;</c> when a couple
/// has several files. Names cannot be turned against whoever unpacks them: characters that act as paths or that file
/// systems refuse become <c>_</c>; control characters and invisible formatting (bidi overrides that make
/// <c>gpj.exe</c> read as <c>exe.jpg</c>, zero-width marks) are dropped; and a long sid is cut so the whole name fits
/// in <see cref="MaxBytes"/> UTF-8 bytes. The couple id in front and the number and extension behind are never cut,
/// so names stay unique within a zip and keep their type.
/// </summary>
public static class EntryNames
{
    /// <summary>Below Linux's 255-byte limit per name, and within eCryptfs's 143 (encrypted home folders).</summary>
    public const int MaxBytes = 143;

    public static string For(long coupleId, string sid, string format, int index, int count)
    {
        var prefix = coupleId.ToString(CultureInfo.InvariantCulture) + "_";
        var suffix = (count > 1 ? string.Create(CultureInfo.InvariantCulture, $"_{index + 1}") : "") + "." + format;
        return Clean(prefix, sid, suffix);
    }

    /// <summary>
    /// A name from a template's <paramref name="body"/>: cleaned as a sid is, without leading or trailing dots and spaces (hidden files;
    /// names Windows refuses), a Windows device name (<c>CON</c>, <c>nul.txt</c>) given a <c>_</c> after its stem, cut
    /// to fit, then <c>_&lt;n&gt;</c> for one of several files, the <paramref name="tag"/> that keeps it unique in a zip
    /// (e.g. <c> (2)</c>), and the extension.
    /// </summary>
    public static string Templated(string body, string format, int index, int count, string tag = "")
    {
        var suffix = (count > 1 ? string.Create(CultureInfo.InvariantCulture, $"_{index + 1}") : "") + tag + "." + format;
        var name = Clean("", body.Trim(' ', '.'), "").TrimEnd(' ', '.');
        return Clean("", name.Length == 0 ? "call" : NotADevice(name, suffix), suffix);
    }

    /// <summary>Windows opens a device, not a file, for these stems, whatever the extension and case.</summary>
    private static readonly HashSet<string> Devices = new(
        ["CON", "PRN", "AUX", "NUL", .. Enumerable.Range(1, 9).SelectMany(n => new[] { $"COM{n}", $"LPT{n}" }), "COM¹", "COM²", "COM³", "LPT¹", "LPT²", "LPT³"],
        StringComparer.OrdinalIgnoreCase);

    /// <summary>The name with <c>_</c> after its stem when the whole name (with <paramref name="suffix"/>) would be a device's.</summary>
    private static string NotADevice(string name, string suffix)
    {
        var whole = name + suffix;
        var dot = whole.IndexOf('.', StringComparison.Ordinal);
        var stem = whole[..dot].TrimEnd(' ');
        return Devices.Contains(stem) ? stem + "_" + name[stem.Length..] : name;
    }

    private static string Clean(string prefix, string text, string suffix)
    {
        var budget = MaxBytes - Encoding.UTF8.GetByteCount(prefix) - Encoding.UTF8.GetByteCount(suffix);
        var name = new StringBuilder(prefix);
        foreach (var rune in text.EnumerateRunes())
        {
            if (IsInvisible(rune))
            {
                continue;
            }

            var safe = IsUnsafe(rune) ? new Rune('_') : rune;
            budget -= safe.Utf8SequenceLength;
            if (budget < 0)
            {
                break;
            }

            name.Append(safe.ToString());
        }

        return name.Append(suffix).ToString();
    }

    /// <summary>Characters that some file system or unzip tool refuses or treats as a path.</summary>
    private static bool IsUnsafe(Rune r) => r.Value is '/' or '\\' or ':' or '*' or '?' or '"' or '<' or '>' or '|';

    /// <summary>Control characters, bidi and other format marks, line and paragraph separators: nothing to see, much to mislead.</summary>
    private static bool IsInvisible(Rune r) =>
        Rune.IsControl(r) || Rune.GetUnicodeCategory(r) is UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator;
}
