using System.Buffers;

namespace CallMedia.Hosting;

/// <summary>
/// Text for cells a person may open in a spreadsheet (<c>calldata.txt</c>, the audit CSV export). A cell that
/// begins with <c>= + - @</c> (after any white space) would be evaluated as a formula (OWASP "CSV injection"); a leading apostrophe keeps
/// it text. A plain signed number (<c>+15550100</c>, an E.164 phone number) cannot carry a formula and is kept
/// as it is, so machine readers still get the number.
/// </summary>
public static class SpreadsheetText
{
    private static readonly SearchValues<char> Digits = SearchValues.Create("0123456789");

    /// <summary>
    /// Whether a spreadsheet could run the cell: it starts with a tab or carriage return, or its first character that is
    /// not white space is one of <c>= + - @</c> (spreadsheets skip leading spaces, so <c>" =1+1"</c> is a formula too).
    /// </summary>
    public static bool IsRisky(string cell)
    {
        if (cell.Length > 0 && cell[0] is '\t' or '\r')
        {
            return true;
        }

        var text = cell.AsSpan().TrimStart();
        if (text.Length == 0 || text[0] is not ('=' or '+' or '-' or '@'))
        {
            return false;
        }

        var plainNumber = text[0] is '+' or '-' && text.Length > 1 && !text[1..].ContainsAnyExcept(Digits);
        return !plainNumber;
    }

    /// <summary>The cell, with an apostrophe before it when a spreadsheet would run it as a formula.</summary>
    public static string Defuse(string cell) => IsRisky(cell) ? "'" + cell : cell;
}
