using System.Security.Cryptography;
using CallMedia.Calls;
using CallMedia.Data;
using Dapper;

namespace CallMedia.UnitTests;

public sealed class CallSearchPiecesTests
{
    [Theory]
    [InlineData("Jiří Novák", "jiri novak")]
    [InlineData("  ZOË   Ångström ", "zoe angstrom")]
    [InlineData("Łukasz Øster", "lukasz oster")]
    [InlineData("Straße", "strasse")]
    [InlineData("ｆｕｌｌ", "full")]
    [InlineData("", "")]
    [InlineData(null, "")]
    public void Fold_NameWithCaseAccentsAndSpaces_IsLowerAsciiSingleSpaced(string? name, string expected) =>
        Assert.Equal(expected, NameFolding.Fold(name));

    [Fact]
    public void ReadCursor_WrittenCursor_GivesThePositionBack()
    {
        var key = RandomNumberGenerator.GetBytes(32);
        var binding = RandomNumberGenerator.GetBytes(32);
        var cursor = CallSearch.WriteCursor(key, binding, 1_764_000_000_000, 42);
        Assert.Equal((1_764_000_000_000L, 42L), CallSearch.ReadCursor(key, binding, cursor));
    }

    [Fact]
    public void ReadCursor_AnyChangedCharacterOrOtherBinding_Throws()
    {
        var key = RandomNumberGenerator.GetBytes(32);
        var binding = RandomNumberGenerator.GetBytes(32);
        var cursor = CallSearch.WriteCursor(key, binding, 1_764_000_000_000, 42);
        for (var i = 0; i < cursor.Length; i++)
        {
            var changed = cursor[..i] + (cursor[i] == 'A' ? 'B' : 'A') + cursor[(i + 1)..];
            Assert.Throws<InvalidSearchException>(() => CallSearch.ReadCursor(key, binding, changed));
        }

        Assert.Throws<InvalidSearchException>(() => CallSearch.ReadCursor(key, RandomNumberGenerator.GetBytes(32), cursor));
        Assert.Throws<InvalidSearchException>(() => CallSearch.ReadCursor(key, binding, cursor + "A"));
        Assert.Throws<InvalidSearchException>(() => CallSearch.ReadCursor(key, binding, "not a cursor"));
    }

    [Fact]
    public void ReadCursor_LastCharacterDifferingOnlyInIgnoredBits_Throws()
    {
        var key = RandomNumberGenerator.GetBytes(32);
        var binding = RandomNumberGenerator.GetBytes(32);
        var cursor = CallSearch.WriteCursor(key, binding, 1_764_000_000_000, 42);
        const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        var last = Alphabet.IndexOf(cursor[^1], StringComparison.Ordinal);
        // 32 bytes in 43 characters: the last one carries 4 bits of data and 2 bits base64 decoding ignores.
        var sameBits = cursor[..^1] + Alphabet[last ^ 1];
        Assert.Throws<InvalidSearchException>(() => CallSearch.ReadCursor(key, binding, sameBits));
    }

    [Fact]
    public void PartyFilter_Prefix_IsTheBytewiseRangeUpToTheNextPrefix()
    {
        var args = new DynamicParameters();
        var filter = CallSearch.PartyFilter("+4201000", prefix: true, "num", args);
        Assert.Equal("(calling_number >= @num AND calling_number < @numHi)", filter("calling_number"));
        Assert.Equal("+4201001", args.Get<string>("numHi"));
        Assert.DoesNotContain("numLen", args.ParameterNames);
    }

    [Theory]
    [InlineData("jiri \uD83D\uDE00", "jiri!")] // ends in a surrogate pair: ranged without it, checked with substr
    [InlineData("ab\uFFFF", "ac")]
    [InlineData("\uD83D\uDE00", null)] // nothing left to range on: from the prefix up, checked with substr
    public void PartyFilter_PrefixEndingOutsideTheBytewiseOrder_IsCheckedWithSubstr(string value, string? hi)
    {
        var args = new DynamicParameters();
        var sql = CallSearch.PartyFilter(value, prefix: true, "name", args)("c");
        Assert.Contains("substr(c, 1, @nameLen) = @name", sql, StringComparison.Ordinal);
        Assert.Equal(value.EnumerateRunes().Count(), args.Get<int>("nameLen"));
        Assert.Equal(hi is not null, sql.Contains("c < @nameHi", StringComparison.Ordinal));
        if (hi is not null)
        {
            Assert.Equal(hi, args.Get<string>("nameHi"));
        }
    }

    [Fact]
    public void PartyFilter_Exact_IsEquality()
    {
        var args = new DynamicParameters();
        Assert.Equal("called_number = @num", CallSearch.PartyFilter("+420100042", prefix: false, "num", args)("called_number"));
    }
}
