using System.Text;
using CallMedia.Delivery;
using CallMedia.Hosting;
using CallMedia.Import;
using CallMedia.Storage;

namespace CallMedia.UnitTests;

/// <summary>Names and cells that leave the server, and paths that come in, cannot be turned against their reader.</summary>
public sealed class NameSafetyTests
{
    [Theory]
    [InlineData("abc\u202Egpj.exe", "5_abcgpj.exe.mp3")]
    [InlineData("a\u200Eb\u200Fc\u2066d\u2069e\u061Cf\u200Bg\uFEFFh", "5_abcdefgh.mp3")]
    [InlineData("bell\u0007\u007F\u0085end\u2028", "5_bellend.mp3")]
    public void EntryNames_ControlAndBidiCharacters_AreDropped(string sid, string expected) =>
        Assert.Equal(expected, EntryNames.For(5, sid, "mp3", 0, 1));

    [Theory]
    [InlineData("ü", 200)]
    [InlineData("a", 300)]
    [InlineData("😀", 100)]
    [InlineData("日", 150)]
    public void EntryNames_LongSid_IsCutInUtf8Bytes_KeepingIdNumberAndExtension(string unit, int repeat)
    {
        var sid = string.Concat(Enumerable.Repeat(unit, repeat));
        var names = Enumerable.Range(0, 12).Select(i => EntryNames.For(123456789012, sid, "mp3", i, 12)).ToList();

        Assert.All(names, n => Assert.InRange(Encoding.UTF8.GetByteCount(n), EntryNames.MaxBytes - 3, EntryNames.MaxBytes));
        Assert.All(names, n => Assert.StartsWith("123456789012_" + unit, n, StringComparison.Ordinal));
        Assert.Equal("_12.mp3", names[11][^7..]);
        Assert.Equal(names.Count, names.Distinct(StringComparer.Ordinal).Count());
        Assert.DoesNotContain('\uFFFD', string.Concat(names));
    }

    [Fact]
    public void EntryNames_ShortSid_IsKeptWhole() =>
        Assert.Equal("1001_Jiří Novák.wav", EntryNames.For(1001, "Jiří Novák", "wav", 0, 1));

    [Theory]
    [InlineData("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")")]
    [InlineData("@SUM(A1)", "'@SUM(A1)")]
    [InlineData("+SUM(1)", "'+SUM(1)")]
    [InlineData("-2+3", "'-2+3")]
    [InlineData("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0")]
    [InlineData("-", "'-")]
    [InlineData("+15550100", "+15550100")]
    [InlineData("-42", "-42")]
    [InlineData("Zoë =1", "Zoë =1")]
    [InlineData("", "")]
    [InlineData(" =1+1", "' =1+1")]
    [InlineData("\t=1+1", "'\t=1+1")]
    [InlineData("\rx", "'\rx")]
    [InlineData("  @A1", "'  @A1")]
    [InlineData(" +15550100", " +15550100")]
    public void SpreadsheetText_Defuse_QuotesFormulasButNotPlainNumbers(string cell, string expected) =>
        Assert.Equal(expected, SpreadsheetText.Defuse(cell));

    [Theory]
    [InlineData("\t=1+1", "' =1+1")]
    [InlineData("\n@A1", "' @A1")]
    [InlineData("\t+15550100", " +15550100")]
    public void CallsCsv_Cell_DefusesFormulasBehindWhiteSpace(string value, string expected) =>
        Assert.Equal(expected, CallMedia.Api.CallsCsv.Cell(value));

    [Theory]
    [InlineData("a\tb\nc\rd", "a b c d")]
    [InlineData("bell\u0007\u0000\u007F\u009Bx", "bellx")]
    [InlineData("\u0007=1+1", "'=1+1")]
    [InlineData("line\u2028sep", "line sep")]
    [InlineData("Jiří", "Jiří")]
    public void CallDataManifestClean_DropsControlsAndDefusesFormulas(string value, string expected) =>
        Assert.Equal(expected, CallDataManifest.Clean(value));

    [Theory]
    [InlineData("short", 10, null)]
    [InlineData("ññññññññññ", 10, null)]
    [InlineData("ñññññññññññ", 10, "is longer than 10 characters (11)")]
    [InlineData("😀😀😀", 3, null)]
    [InlineData("tab\there", 100, "has control characters")]
    public void ManifestReaderTextProblem_CountsCharactersAndRefusesControls(string value, int max, string? expected) =>
        Assert.Equal(expected, ManifestReader.TextProblem(value, max));

    [Fact]
    public void RealPath_FollowsLinksInAnyFolderOfThePath()
    {
        var root = Directory.CreateTempSubdirectory("callmedia-realpath-").FullName;
        try
        {
            var inside = Directory.CreateDirectory(Path.Combine(root, "inside")).FullName;
            var outside = Directory.CreateDirectory(Path.Combine(root, "outside")).FullName;
            File.WriteAllText(Path.Combine(outside, "f"), "x");
            Directory.CreateSymbolicLink(Path.Combine(inside, "dir"), "../outside");
            File.CreateSymbolicLink(Path.Combine(inside, "file"), Path.Combine(inside, "dir", "f"));
            File.CreateSymbolicLink(Path.Combine(inside, "loop"), Path.Combine(inside, "loop"));

            Assert.Equal(Path.Combine(outside, "f"), RealPath.Of(Path.Combine(inside, "dir", "f")));
            Assert.Equal(Path.Combine(outside, "f"), RealPath.Of(Path.Combine(inside, "file")));
            Assert.Equal(Path.Combine(inside, "plain", "missing"), RealPath.Of(Path.Combine(inside, "plain", "missing")));
            Assert.Null(RealPath.Of(Path.Combine(inside, "loop")));

            // The C library answers for paths that exist; the walk for the rest (a missing part, a loop).
            Assert.Equal(Path.Combine(outside, "f"), RealPath.Native(Path.Combine(inside, "file")));
            Assert.Null(RealPath.Native(Path.Combine(inside, "plain", "missing")));
            Assert.Null(RealPath.Native(Path.Combine(inside, "loop")));
            Assert.True(RealPath.IsUnder(Path.Combine(inside, "x"), inside));
            Assert.False(RealPath.IsUnder(inside + "-sibling", inside));
            Assert.True(RealPath.IsUnder(inside, inside));
            Assert.True(RealPath.IsUnder(Path.Combine(inside, "x"), inside + Path.DirectorySeparatorChar));
            Assert.False(RealPath.IsUnder(inside, inside + Path.DirectorySeparatorChar + "x"));
            Assert.False(RealPath.IsUnder(inside.AsSpan(0, inside.Length - 1), inside));
            Assert.True(RealPath.IsUnder(inside, Path.GetPathRoot(inside)!));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
