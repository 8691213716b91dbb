using System.Security.Cryptography;
using CallMedia.Calls;
using CallMedia.Data;

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
}
