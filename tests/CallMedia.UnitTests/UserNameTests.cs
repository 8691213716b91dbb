using CallMedia.Auth;

namespace CallMedia.UnitTests;

public sealed class UserNameTests
{
    [Theory]
    [InlineData("alice")]
    [InlineData("Zoë Müller")]
    [InlineData("jan.novák@example.cz")]
    [InlineData("名前")]
    [InlineData("emoji 🎧 user")] // a pair of surrogates is one character
    public void ValidateName_APrintableName_Passes(string name) => UserStore.ValidateName(name);

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("alice ")]
    [InlineData(" alice")]
    [InlineData("ali\tce")]
    [InlineData("alice\u202Eecila")] // right-to-left override: shows as another name
    [InlineData("al\u200Bice")] // zero-width space
    [InlineData("al\u2028ice")] // line separator
    [InlineData("al\u0000ice")]
    public void ValidateName_AnInvisibleOrBlankPart_IsRefused(string name) =>
        Assert.Throws<AdminException>(() => UserStore.ValidateName(name));

    [Fact]
    public void ValidateName_ALoneSurrogate_IsRefused()
    {
        // Built here: a test case's text would reach the test with the lone surrogate replaced.
        var name = "al" + (char)0xD800 + "ice";

        Assert.Throws<AdminException>(() => UserStore.ValidateName(name));
    }

    [Fact]
    public void ValidateName_Over128Characters_IsRefused()
    {
        UserStore.ValidateName(new string('a', 128));
        Assert.Throws<AdminException>(() => UserStore.ValidateName(new string('a', 129)));
    }
}
