using System.Data.Common;
using System.Globalization;
using System.Text;
using Dapper;

namespace CallMedia.Data;

/// <summary>
/// The searchable form of a party's name: lower case, accents and other combining marks removed, letters that do not
/// decompose (ø, ł, ß, æ ...) spelled in ASCII, runs of white space as one space. Stored next to the name in
/// <c>couples.calling_name_folded</c> / <c>called_name_folded</c>, so a name search is an index range on both engines
/// without collations or extensions. Every writer of couples must fill those columns with <see cref="Fold"/>.
/// </summary>
public static class NameFolding
{
    public static string Fold(string? name)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            return "";
        }

        var folded = new StringBuilder(name.Length);
        var space = false;
        foreach (var ch in name)
        {
            var category = CharUnicodeInfo.GetUnicodeCategory(ch);
            if (category is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark)
            {
                continue;
            }

            if (char.IsWhiteSpace(ch))
            {
                space = folded.Length > 0;
                continue;
            }

            if (space)
            {
                folded.Append(' ');
                space = false;
            }

            folded.Append(Spell(char.ToLowerInvariant(ch)));
        }

        return folded.ToString();
    }

    // The build runs with invariant globalization, where string.Normalize does nothing: the Latin letters with
    // diacritics (U+00C0-U+024F, lower case) and their bases, as Unicode's compatibility decomposition gives them.
    private const string Accented = "àáâãäåçèéêëìíîïñòóôõöùúûüýÿāăąćĉċčďēĕėęěĝğġģĥĩīĭįİĵķĺļľńņňōŏőŕŗřśŝşšţťũūŭůűųŵŷźżžſơưǎǐǒǔǖǘǚǜǟǡǧǩǫǭǰǵǹǻȁȃȅȇȉȋȍȏȑȓȕȗșțȟȧȩȫȭȯȱȳ";
    private const string Plain = "aaaaaaceeeeiiiinooooouuuuyyaaaccccdeeeeegggghiiiiijklllnnnooorrrssssttuuuuuuwyzzzsouaiouuuuuaagkoojgnaaaeeiioorruusthaeooooy";

    private static string Spell(char ch) => ch switch
    {
        _ when Accented.IndexOf(ch, StringComparison.Ordinal) is >= 0 and var i => Plain[i].ToString(),
        // Full-width forms (U+FF01-U+FF5E) are ASCII shifted.
        >= '\uFF01' and <= '\uFF5E' => char.ToLowerInvariant((char)(ch - 0xFEE0)).ToString(),
        'ø' => "o",
        'ł' => "l",
        'đ' => "d",
        'ð' => "d",
        'ħ' => "h",
        'ı' => "i",
        'ŧ' => "t",
        'þ' => "th",
        'ß' => "ss",
        'æ' => "ae",
        'œ' => "oe",
        _ => ch.ToString(),
    };

    /// <summary>
    /// Fills the folded columns of couples written without them (rows that existed before the columns did, or a
    /// writer that does not fold yet), in batches by id. Idempotent; returns how many couples it folded.
    /// </summary>
    public static async Task<int> FoldPendingAsync(DbConnection connection, DbTransaction? tx, CancellationToken ct = default)
    {
        var total = 0;
        while (true)
        {
            var rows = (await connection.QueryAsync<(long Id, string CallingName, string CalledName)>(
                new CommandDefinition(
                    "SELECT id, calling_name, called_name FROM couples WHERE calling_name_folded IS NULL ORDER BY id LIMIT 2000",
                    transaction: tx,
                    cancellationToken: ct))).ToList();
            if (rows.Count == 0)
            {
                return total;
            }

            await connection.ExecuteAsync(
                new CommandDefinition(
                    "UPDATE couples SET calling_name_folded = @Calling, called_name_folded = @Called WHERE id = @Id",
                    rows.Select(r => new { r.Id, Calling = Fold(r.CallingName), Called = Fold(r.CalledName) }),
                    tx,
                    cancellationToken: ct));
            total += rows.Count;
        }
    }
}
