using System.Globalization;
using System.Text;

namespace CallMedia.Delivery;

/// <summary>File names of delivered media: <c>&lt;couple id&gt;_&lt;sid&gt;.&lt;ext&gt;</c>, with <c>_&lt;n&gt;</c> when a couple has several files.</summary>
public static class EntryNames
{
    public static string For(long coupleId, string sid, string format, int index, int count)
    {
        var name = new StringBuilder();
        name.Append(coupleId.ToString(CultureInfo.InvariantCulture)).Append('_');
        foreach (var rune in sid.EnumerateRunes())
        {
            name.Append(IsUnsafe(rune) ? "_" : rune.ToString());
        }

        if (count > 1)
        {
            name.Append(CultureInfo.InvariantCulture, $"_{index + 1}");
        }

        return name.Append('.').Append(format).ToString();
    }

    /// <summary>Characters that some file system or unzip tool refuses or treats as a path.</summary>
    private static bool IsUnsafe(Rune r) =>
        Rune.IsControl(r) || r.Value is '/' or '\\' or ':' or '*' or '?' or '"' or '<' or '>' or '|' || r.Value == 0x7F;
}
