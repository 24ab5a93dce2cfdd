"""placeholder replaced below"""
class ParserConformance:  # noqa
    pass
