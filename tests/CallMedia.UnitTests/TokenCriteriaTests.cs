using CallMedia.Hosting;
using CallMedia.Tokens;
using Microsoft.AspNetCore.Http;

namespace CallMedia.UnitTests;

public sealed class TokenCriteriaTests
{
    private static async Task<TokenCriteria> Parse(string query, int maxIds = 10_000)
    {
        var context = new DefaultHttpContext();
        context.Request.QueryString = new QueryString("?" + query);
        return TokenCriteria.Parse(await CallRecParameters.ReadAsync(context.Request), maxIds);
    }

    [Theory]
    [InlineData("id_call[]=1&id_call[]=2&action=download", new long[] { 1, 2 })]
    [InlineData("id_call[]=1165,1166&action=download", new long[] { 1165, 1166 })]
    [InlineData("call_id[]=7&id_call[]=8,9&action=download", new long[] { 8, 9, 7 })]
    [InlineData("id_call[]=3,3,%203%20,4&action=download", new long[] { 3, 4 })]
    [InlineData("id_call[]=5", new long[] { 5 })]
    public async Task Parse_IdForms_YieldIdsInOrderWithoutDuplicates(string query, long[] expected) =>
        Assert.Equal(expected, (await Parse(query)).CoupleIds);

    [Fact]
    public async Task Parse_Sid_WinsOverIds()
    {
        var criteria = await Parse("sid=abc@pbx&id_call[]=not-a-number");
        Assert.Equal("abc@pbx", criteria.Sid);
        Assert.Empty(criteria.CoupleIds);
    }

    [Theory]
    [InlineData("id_call[]=1", 1, TokenAction.Stream, "audio.stream")]
    [InlineData("id_call[]=1&action=download", 1, TokenAction.Download, "audio.download")]
    [InlineData("id_call[]=1&type=16", 16, TokenAction.Stream, "video.stream")]
    [InlineData("id_call[]=1&type=16&action=download", 16, TokenAction.Download, "video.download")]
    [InlineData("id_call[]=1&type=16&action=prepare", 16, TokenAction.Prepare, "video.prepare")]
    [InlineData("id_call[]=1&action=play", 1, TokenAction.Stream, "audio.stream")]
    public async Task Parse_TypeAndAction_SelectRight(string query, int type, TokenAction action, string right)
    {
        var criteria = await Parse(query);
        Assert.Equal(type, criteria.Type);
        Assert.Equal(action, criteria.Action);
        Assert.Equal(right, criteria.RequiredRight);
    }

    [Theory]
    [InlineData("")]
    [InlineData("id_call[]=")]
    [InlineData("id_call[]=x")]
    [InlineData("id_call[]=0")]
    [InlineData("id_call[]=-1")]
    [InlineData("id_call[]=1.5")]
    [InlineData("id_call[]=1e3")]
    [InlineData("id_call[]=9999999999999999999")]
    [InlineData("id_call[]=1&type=3")]
    [InlineData("id_call[]=1&type=01x")]
    [InlineData("id_call[]=1,2")]
    [InlineData("id_call[]=1,2&type=16&action=prepare")]
    [InlineData("id_call[]=1&action=prepare")]
    [InlineData("id_call[]=1&action=download&action=stream")]
    public async Task Parse_BadInput_Throws(string query) =>
        await Assert.ThrowsAsync<ParameterException>(() => Parse(query));

    [Fact]
    public async Task Parse_TooManyIds_Throws()
    {
        await Assert.ThrowsAsync<ParameterException>(() => Parse("action=download&id_call[]=" + string.Join(',', Enumerable.Range(1, 11)), maxIds: 10));
        Assert.Equal(10, (await Parse("action=download&id_call[]=" + string.Join(',', Enumerable.Range(1, 10)), maxIds: 10)).CoupleIds.Count);
    }
}
