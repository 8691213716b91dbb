using CallMedia.Calls;
using CallMedia.Retention;

namespace CallMedia.UnitTests;

public sealed class RetentionRulesTests
{
    private static readonly DateTimeOffset Stop = new(2024, 2, 29, 12, 0, 0, TimeSpan.Zero);

    private static Couple Call(long id = 1, string calling = "+15550100", string called = "3001") =>
        new() { Id = id, Sid = "s" + id, StartAt = Stop.AddMinutes(-5).ToUnixTimeMilliseconds(), StopAt = Stop.ToUnixTimeMilliseconds(), CallingNumber = calling, CalledNumber = called };

    private static RetentionPolicy Policy(string name, string media, string keep, string numbers = "") => new() { Name = name, Media = media, Keep = keep, Numbers = numbers };

    private static MediaFile File(int type) => new() { Id = type, CoupleId = 1, Type = type, Path = $"f{type}", Size = 10 };

    [Theory]
    [InlineData("90d", "2024-05-29T12:00:00Z")]
    [InlineData("2w", "2024-03-14T12:00:00Z")]
    [InlineData("1m", "2024-03-29T12:00:00Z")]
    [InlineData("1y", "2025-02-28T12:00:00Z")]
    [InlineData("4y", "2028-02-29T12:00:00Z")]
    public void KeepPeriod_After_CountsCalendarUnits(string keep, string expected) =>
        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), KeepPeriod.Parse(keep).After(Stop));

    [Theory]
    [InlineData("")]
    [InlineData("3")]
    [InlineData("0d")]
    [InlineData("-1d")]
    [InlineData("1h")]
    [InlineData("3 y")]
    [InlineData("101y")]
    [InlineData("123456d")]
    public void KeepPeriod_Parse_RefusesWhatIsNotAPeriod(string keep) =>
        Assert.Throws<RetentionInputException>(() => KeepPeriod.Parse(keep));

    [Fact]
    public void Due_SeveralPoliciesCoverAFile_TheLongestWins_NumbersAndMediaNarrowThem()
    {
        RetentionPolicy[] policies =
        [
            Policy("all-1y", "all", "1y"),
            Policy("audio-400d", "audio", "400d"),
            Policy("video-5y-other", "video", "5y", "+15559999"),
            Policy("audio-6m-ours", "audio", "6m", "3001,3002"),
        ];

        Assert.Equal(("audio-400d", Stop.AddDays(400)), Due(Call(), MediaType.Audio, policies));
        Assert.Equal(("all-1y", Stop.AddYears(1)), Due(Call(), MediaType.Video, policies));
        Assert.Equal(("video-5y-other", Stop.AddYears(5)), Due(Call(called: "+15559999"), MediaType.Recd, policies));
        Assert.Null(RetentionRules.Due(Call(), MediaType.Audio, [Policy("p", "video", "1d")]));
    }

    private static (string, DateTimeOffset)? Due(Couple c, int type, RetentionPolicy[] policies) =>
        RetentionRules.Due(c, type, policies) is { } d ? (d.Policy.Name, d.DueAt) : null;

    [Fact]
    public void Plan_TakesOnlyTheDueTypes_AndNothingOfAHeldCall()
    {
        RetentionPolicy[] policies = [Policy("video-1y", "video", "1y"), Policy("audio-3y", "audio", "3y")];
        MediaFile[] files = [File(MediaType.Audio), File(MediaType.Video), File(MediaType.Recd)];
        var now = Stop.AddYears(2);

        var plan = RetentionRules.Plan(Call(), files, policies, [], now)!;
        Assert.Equal(MediaType.Video | MediaType.Recd, plan.Types);
        Assert.Equal([MediaType.Video, MediaType.Recd], plan.Files.Select(f => (int)f.Type));
        Assert.Equal("video-1y", plan.Policies);
        Assert.Null(RetentionRules.Plan(Call(), files, policies, [], Stop.AddYears(1).AddTicks(-1)));
        Assert.Null(RetentionRules.Plan(Call(), files, policies, [new LegalHold { CoupleId = 1, Reason = "r" }], now));
        Assert.NotNull(RetentionRules.Plan(Call(), files, policies, [new LegalHold { CoupleId = 1, Reason = "r", ReleasedAt = 1 }], now));
    }

    [Fact]
    public void LegalHold_Holds_ByIdSidNumberAndStartRange()
    {
        var call = Call(7, calling: "+15550100", called: "3001");
        var start = call.StartAt;
        Assert.True(new LegalHold { CoupleId = 7 }.Holds(call));
        Assert.False(new LegalHold { CoupleId = 8 }.Holds(call));
        Assert.True(new LegalHold { Sid = "s7" }.Holds(call));
        Assert.True(new LegalHold { Number = "3001" }.Holds(call));
        Assert.True(new LegalHold { Number = "+15550100" }.Holds(call));
        Assert.False(new LegalHold { Number = "3002" }.Holds(call));
        Assert.True(new LegalHold { FromAt = start, ToAt = start + 1 }.Holds(call));
        Assert.False(new LegalHold { FromAt = start + 1 }.Holds(call));
        Assert.False(new LegalHold { ToAt = start }.Holds(call));
        Assert.True(new LegalHold { ToAt = start + 1 }.Holds(call));
    }
}
